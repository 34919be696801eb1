package incident

import (
	"context"
	"fmt"
	"time"

	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/incident/playbook"
	"github.com/vigil-sec/vigil/internal/store"
)

// Task statuses.
const (
	TaskTodo    = "todo"
	TaskDoing   = "doing"
	TaskDone    = "done"
	TaskSkipped = "skipped"
)

// TaskStatuses returns the task statuses.
func TaskStatuses() []string { return []string{TaskTodo, TaskDoing, TaskDone, TaskSkipped} }

// TaskInput is what an analyst writes on a task.
type TaskInput struct {
	Title       string
	Description string
	Phase       string
	Owner       string // user ID or ""
	Status      string // default todo
	DueAt       time.Time
	Checklist   []store.ChecklistItem
}

func (s *Service) checkTask(ctx context.Context, tenantID string, in *TaskInput) error {
	if err := checkText("title", in.Title, MaxTitle, true); err != nil {
		return err
	}
	if err := checkText("description", in.Description, MaxTaskDesc, false); err != nil {
		return err
	}
	if in.Status == "" {
		in.Status = TaskTodo
	}
	if err := oneOf("phase", in.Phase, Phases()); err != nil {
		return err
	}
	if err := oneOf("status", in.Status, TaskStatuses()); err != nil {
		return err
	}
	if len(in.Checklist) > MaxChecklist {
		return invalid("checklist", store.CodeTooMany, map[string]any{"max": MaxChecklist}, "at most %d checklist items", MaxChecklist)
	}
	for _, it := range in.Checklist {
		if err := checkText("checklist", it.Text, MaxChecklistLen, true); err != nil {
			return err
		}
	}
	if in.Owner != "" {
		return s.checkUser(ctx, tenantID, "owner", in.Owner)
	}
	return nil
}

// openCase loads a case that may gain work: the tenant's, and not closed.
func (s *Service) openCase(ctx context.Context, tenantID, caseID string) (store.Incident, error) {
	c, err := s.load(ctx, tenantID, caseID, 0)
	if err != nil {
		return c, err
	}
	if c.Phase == PhaseClosed {
		return c, fmt.Errorf("%w: the case is closed; reopen it first", ErrTransition)
	}
	return c, nil
}

func (s *Service) addTasks(ctx context.Context, c store.Incident, tasks []store.IncidentTask) error {
	have, err := s.store.Incidents().Tasks(ctx, c.TenantID, c.ID)
	if err != nil {
		return err
	}
	if len(have)+len(tasks) > MaxTasks {
		return invalid("tasks", store.CodeTooMany, map[string]any{"max": MaxTasks}, "a case holds at most %d tasks", MaxTasks)
	}
	return s.store.Incidents().CreateTasks(ctx, tasks)
}

// CreateTask adds a task to an open case.
func (s *Service) CreateTask(ctx context.Context, tenantID, caseID string, in TaskInput) (store.IncidentTask, error) {
	c, err := s.openCase(ctx, tenantID, caseID)
	if err != nil {
		return store.IncidentTask{}, err
	}
	if err := s.checkTask(ctx, tenantID, &in); err != nil {
		return store.IncidentTask{}, err
	}
	t := store.IncidentTask{TenantID: tenantID, CaseID: caseID, Title: in.Title, Description: in.Description, Phase: in.Phase,
		Owner: in.Owner, Status: in.Status, DueAt: in.DueAt, Checklist: in.Checklist}
	if t.Status == TaskDone {
		t.DoneAt = s.now()
	}
	ts := []store.IncidentTask{t}
	if err := s.addTasks(ctx, c, ts); err != nil {
		return t, err
	}
	return ts[0], s.record(ctx, tenantID, "incident.task.create", caseID, map[string]any{"task": ts[0].ID, "title": t.Title})
}

// UpdateTask rewrites a task; done and skipped tasks record when.
func (s *Service) UpdateTask(ctx context.Context, tenantID, taskID string, in TaskInput) (store.IncidentTask, error) {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return store.IncidentTask{}, err
	}
	t, err := s.store.Incidents().GetTask(ctx, tenantID, taskID)
	if err != nil {
		return t, err
	}
	if _, err := s.openCase(ctx, tenantID, t.CaseID); err != nil {
		return t, err
	}
	if err := s.checkTask(ctx, tenantID, &in); err != nil {
		return t, err
	}
	from := t.Status
	t.Title, t.Description, t.Phase, t.Owner, t.Status, t.DueAt, t.Checklist = in.Title, in.Description, in.Phase, in.Owner,
		in.Status, in.DueAt, in.Checklist
	switch {
	case (t.Status == TaskDone || t.Status == TaskSkipped) && t.DoneAt.IsZero():
		t.DoneAt = s.now()
	case t.Status == TaskTodo || t.Status == TaskDoing:
		t.DoneAt = time.Time{}
	}
	if err := s.store.Incidents().UpdateTask(ctx, &t); err != nil {
		return t, err
	}
	return t, s.record(ctx, tenantID, "incident.task.update", t.CaseID, map[string]any{"task": t.ID, "from": from, "status": t.Status})
}

// AddTaskLog appends a work log entry to a task.
func (s *Service) AddTaskLog(ctx context.Context, tenantID, taskID, text string) (store.IncidentTaskLog, error) {
	if err := auth.Require(ctx, auth.PermIncidentWrite, tenantID); err != nil {
		return store.IncidentTaskLog{}, err
	}
	if err := checkText("text", text, MaxNote, true); err != nil {
		return store.IncidentTaskLog{}, err
	}
	l := store.IncidentTaskLog{TenantID: tenantID, TaskID: taskID, Author: auth.FromContext(ctx).ActorID(), At: s.now(), Text: text}
	if err := s.store.Incidents().AddTaskLog(ctx, &l); err != nil {
		return l, err
	}
	return l, s.record(ctx, tenantID, "incident.task.log", l.CaseID, map[string]any{"task": taskID, "text": text})
}

// Playbooks returns the playbooks the service knows.
func (s *Service) Playbooks() []playbook.Playbook { return s.playbooks }

// ApplyPlaybook creates the tasks of a playbook (by ID) on an open case;
// due times count from the case's creation.
func (s *Service) ApplyPlaybook(ctx context.Context, tenantID, caseID, playbookID string) ([]store.IncidentTask, error) {
	c, err := s.openCase(ctx, tenantID, caseID)
	if err != nil {
		return nil, err
	}
	var pb *playbook.Playbook
	for i := range s.playbooks {
		if s.playbooks[i].ID == playbookID {
			pb = &s.playbooks[i]
		}
	}
	if pb == nil {
		var known []string
		for _, p := range s.playbooks {
			known = append(known, p.ID)
		}
		return nil, oneOf("playbook", playbookID, known)
	}
	tasks := make([]store.IncidentTask, 0, len(pb.Tasks))
	for _, pt := range pb.Tasks {
		t := store.IncidentTask{TenantID: tenantID, CaseID: caseID, Title: pt.Title, Description: pt.Description, Phase: pt.Phase,
			Status: TaskTodo, Source: pb.ID}
		if pt.DueAfter > 0 {
			t.DueAt = c.CreatedAt.Add(pt.DueAfter)
		}
		for _, item := range pt.Checklist {
			t.Checklist = append(t.Checklist, store.ChecklistItem{Text: item})
		}
		tasks = append(tasks, t)
	}
	if err := s.addTasks(ctx, c, tasks); err != nil {
		return nil, err
	}
	return tasks, s.record(ctx, tenantID, "incident.playbook", caseID, map[string]any{"playbook": pb.ID, "tasks": len(tasks)})
}

// Tasks returns a case's tasks.
func (s *Service) Tasks(ctx context.Context, tenantID, caseID string) ([]store.IncidentTask, error) {
	if err := auth.Require(ctx, auth.PermEventRead, tenantID); err != nil {
		return nil, err
	}
	if _, err := s.store.Incidents().Get(ctx, tenantID, caseID); err != nil {
		return nil, err
	}
	return s.store.Incidents().Tasks(ctx, tenantID, caseID)
}
