package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/vigil-sec/vigil/internal/app"
	"github.com/vigil-sec/vigil/internal/auth"
	"github.com/vigil-sec/vigil/internal/incident"
	"github.com/vigil-sec/vigil/internal/incident/thehive"
	"github.com/vigil-sec/vigil/internal/store"
)

// newIncidentCmd builds "vigil incident" (also "vigil case"): the IR report
// of a case and the import of TheHive cases, on the configured database.
func newIncidentCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:     "incident",
		Aliases: []string{"case"},
		Short:   "Incident cases on the configured database: IR reports, TheHive import",
	}
	cmd.AddCommand(newIncidentReportCmd(g), newIncidentImportCmd(g))
	return cmd
}

// cliPrincipal acts for the operator at the console; changes are audited
// as done by "cli".
func cliPrincipal(ctx context.Context) context.Context {
	return auth.WithPrincipal(ctx, &auth.Principal{UserID: "cli", Username: "cli", GlobalRole: auth.RoleAdmin})
}

func newIncidentReportCmd(g *globalFlags) *cobra.Command {
	var tenantRef, out, lang string
	cmd := &cobra.Command{
		Use:   "report CASE --tenant T -o FILE.pdf|.html|.xlsx",
		Short: "Write the IR report of a case (by reference such as IR-2026-0042, number or ID)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if tenantRef == "" {
				return errors.New("--tenant is required")
			}
			return withApp(cmd, g, func(ctx context.Context, a *app.App) error {
				ctx = cliPrincipal(ctx)
				t, err := a.Tenants.ResolveTenant(ctx, tenantRef)
				if err != nil {
					return fmt.Errorf("tenant %q: %w", tenantRef, err)
				}
				c, err := findCase(ctx, a, t.ID, args[0])
				if err != nil {
					return err
				}
				doc, err := a.Incidents.Report(ctx, t.ID, c.ID, lang)
				if err != nil {
					return err
				}
				return reportOut(cmd, doc, out)
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&tenantRef, "tenant", "", "tenant slug or ID")
	fl.StringVarP(&out, "output", "o", "", "report file; the format follows the extension (.pdf needs Chromium)")
	fl.StringVar(&lang, "lang", "zh-CN", "report language: zh-CN or en")
	_ = cmd.MarkFlagRequired("output")
	return cmd
}

// findCase resolves a case reference (IR-2026-0042), number (42) or ID in
// a tenant.
func findCase(ctx context.Context, a *app.App, tenantID, ref string) (store.Incident, error) {
	if c, err := a.Incidents.Get(ctx, tenantID, ref); err == nil {
		return c, nil
	}
	if n, err := strconv.Atoi(ref); err == nil && n > 0 {
		for off := 0; off < incident.MaxCount; off += store.MaxPageSize {
			cs, _, err := a.Incidents.List(ctx, tenantID, incident.Filter{Page: store.Page{Limit: store.MaxPageSize, Offset: off}})
			if err != nil {
				return store.Incident{}, err
			}
			for _, c := range cs {
				if c.Seq == n {
					return c, nil
				}
			}
			if len(cs) < store.MaxPageSize {
				break
			}
		}
		return store.Incident{}, fmt.Errorf("no case number %d in the tenant", n)
	}
	cs, _, err := a.Incidents.List(ctx, tenantID, incident.Filter{Query: ref, Page: store.Page{Limit: 5}})
	if err != nil {
		return store.Incident{}, err
	}
	for _, c := range cs {
		if strings.EqualFold(c.Ref, ref) {
			return c, nil
		}
	}
	return store.Incident{}, fmt.Errorf("no case %q in the tenant", ref)
}

func newIncidentImportCmd(g *globalFlags) *cobra.Command {
	var tenantRef, file string
	cmd := &cobra.Command{
		Use:   "import --thehive FILE --tenant T",
		Short: "Import TheHive 4 or 5 case exports (one case, an array or NDJSON) as cases",
		Long: `import reads TheHive case exports and opens one Vigil case per TheHive case:
title, description and summary, severity, TLP, PAP and tags (plus
"thehive:<id>"), observables (typed as Vigil's; values Vigil cannot accept
are skipped and counted), tasks with their logs and status, and closed
cases closed with their resolution (TheHive's "indeterminate" and "other"
become benign). It prints one JSON line per case. A file that cannot be
read imports nothing and the error names the JSON path.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if tenantRef == "" {
				return errors.New("--tenant is required")
			}
			f, err := os.Open(file) // #nosec G304 -- the operator names the export
			if err != nil {
				return err
			}
			defer f.Close()
			cases, err := thehive.Parse(f, thehive.Limits{})
			if err != nil {
				return fmt.Errorf("%s: %w", file, err)
			}
			return withApp(cmd, g, func(ctx context.Context, a *app.App) error {
				ctx = cliPrincipal(ctx)
				t, err := a.Tenants.ResolveTenant(ctx, tenantRef)
				if err != nil {
					return fmt.Errorf("tenant %q: %w", tenantRef, err)
				}
				enc := json.NewEncoder(cmd.OutOrStdout())
				for _, hc := range cases {
					res, err := importHiveCase(ctx, a, t.ID, hc)
					if err != nil {
						return fmt.Errorf("TheHive case %s (%q): %w", hc.ID, hc.Title, err)
					}
					if err := enc.Encode(res); err != nil {
						return err
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&file, "thehive", "", "TheHive case export (JSON or NDJSON)")
	cmd.Flags().StringVar(&tenantRef, "tenant", "", "tenant slug or ID")
	_ = cmd.MarkFlagRequired("thehive")
	return cmd
}

// hiveTaskStatus maps TheHive's task status to Vigil's.
func hiveTaskStatus(s string) string {
	switch strings.ToLower(s) {
	case "completed":
		return incident.TaskDone
	case "inprogress":
		return incident.TaskDoing
	case "cancel":
		return incident.TaskSkipped
	}
	return incident.TaskTodo
}

// hiveResolution maps TheHive's resolution to Vigil's.
func hiveResolution(r string) string {
	switch r {
	case incident.TruePositive, incident.FalsePositive, incident.Duplicate:
		return r
	}
	return incident.Benign
}

func importHiveCase(ctx context.Context, a *app.App, tenantID string, hc thehive.Case) (map[string]any, error) {
	desc := hc.Description
	if hc.Summary != "" {
		desc = strings.TrimSpace(desc + "\n\n" + hc.Summary)
	}
	sev := hc.SeverityName
	if sev == "" {
		sev = "medium"
	}
	in := incident.Input{Title: hc.Title, Description: desc, Severity: sev, TLP: hc.TLPName, PAP: hc.PAPName,
		Category: "other", Tags: append(append([]string(nil), hc.Tags...), "thehive:"+hc.ID)}
	c, err := a.Incidents.Create(ctx, tenantID, in)
	if err != nil {
		return nil, err
	}
	added, skipped := 0, 0
	for _, o := range hc.Observables {
		obs := incident.ObservableInput{Type: thehive.VigilType(o.DataType), Value: o.Data, IOC: o.IOC, Tags: o.Tags,
			Description: o.Message, FirstSeen: thehive.Time(o.StartDate)}
		if _, err := a.Incidents.AddObservables(ctx, tenantID, c.ID, []incident.ObservableInput{obs}); err != nil {
			if !errors.Is(err, store.ErrInvalid) {
				return nil, err
			}
			skipped++
			continue
		}
		added++
	}
	for _, ht := range hc.Tasks {
		task, err := a.Incidents.CreateTask(ctx, tenantID, c.ID, incident.TaskInput{Title: ht.Title, Description: ht.Description,
			Phase: incident.PhaseDetect, Status: hiveTaskStatus(ht.Status), DueAt: thehive.Time(ht.DueDate)})
		if err != nil {
			return nil, err
		}
		for _, l := range ht.Logs {
			text := thehive.Time(l.Date).Format("2006-01-02 15:04 UTC") + " " + l.Owner + ": " + l.Message
			if _, err := a.Incidents.AddTaskLog(ctx, tenantID, task.ID, text); err != nil {
				return nil, err
			}
		}
	}
	if hc.Status == "closed" {
		if _, err := a.Incidents.Close(ctx, tenantID, c.ID, 0, hiveResolution(hc.Resolution), "imported from TheHive"); err != nil {
			return nil, err
		}
	}
	return map[string]any{"thehive_id": hc.ID, "case": c.ID, "ref": c.Ref, "observables": added, "skipped_observables": skipped,
		"tasks": len(hc.Tasks), "closed": hc.Status == "closed"}, nil
}
