package sqldb

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/vigil-sec/vigil/internal/store"
)

var _ store.EventRetention = (*Store)(nil)

// eventPartitionRE matches a day partition's name.
var eventPartitionRE = regexp.MustCompile(`^events_p([0-9]{8})$`)

// maxPrepareDays bounds one PrepareEventDays call.
const maxPrepareDays = 400

// eventDay returns the UTC day holding t.
func eventDay(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// partitionName is the name of day's partition.
func partitionName(day time.Time) string { return "events_p" + day.Format("20060102") }

// eventPartitions lists the day partitions of events (PostgreSQL), by
// first day.
func (s *Store) eventPartitions(ctx context.Context, c conn) (map[time.Time]string, error) {
	names, err := collect(ctx, c, func(r rowScanner) (string, error) {
		var n string
		return n, r.Scan(&n)
	}, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'events' AND p.relnamespace = to_regnamespace(current_schema())`)
	if err != nil {
		return nil, err
	}
	out := make(map[time.Time]string, len(names))
	for _, n := range names {
		m := eventPartitionRE.FindStringSubmatch(n)
		if m == nil {
			continue
		}
		day, err := time.Parse("20060102", m[1])
		if err != nil {
			continue
		}
		out[day] = n
	}
	return out, nil
}

// PrepareEventDays implements store.EventRetention. Each missing day is
// added in its own transaction: the day's rows leave the default
// partition, the new partition is attached, and the rows go into it.
func (s *Store) PrepareEventDays(ctx context.Context, from, to time.Time) (int, error) {
	if s.d.Name != "postgres" {
		return 0, nil
	}
	from, to = eventDay(from), eventDay(to)
	if to.Before(from) || to.Sub(from) > maxPrepareDays*24*time.Hour {
		return 0, fmt.Errorf("prepare event days: %w: from %s to %s", store.ErrInvalid, from.Format(time.DateOnly), to.Format(time.DateOnly))
	}
	have, err := s.eventPartitions(ctx, s.conn())
	if err != nil {
		return 0, s.wrap("list event partitions", err)
	}
	added := 0
	for day := from; !day.After(to); day = day.AddDate(0, 0, 1) {
		if _, ok := have[day]; ok {
			continue
		}
		err := s.inTx(ctx, func(c conn) error {
			// Nodes preparing at once take turns; the second finds the day.
			if err := c.lock(ctx, "events.partitions"); err != nil {
				return err
			}
			now, err := s.eventPartitions(ctx, c)
			if err != nil {
				return err
			}
			if _, ok := now[day]; ok {
				return nil
			}
			name, lo, hi := partitionName(day), day, day.AddDate(0, 0, 1)
			// The name is built from a date only; the bounds are literals
			// of times formatted here.
			if _, err := c.exec(ctx, `CREATE TABLE `+name+` (LIKE events INCLUDING DEFAULTS)`); err != nil {
				return err
			}
			bounds := fmt.Sprintf(`'%s' AND at < '%s'`, lo.Format(time.RFC3339), hi.Format(time.RFC3339))
			if _, err := c.exec(ctx, `WITH moved AS (DELETE FROM events_default WHERE at >= `+bounds+` RETURNING *)
				INSERT INTO `+name+` SELECT * FROM moved`); err != nil {
				return err
			}
			if _, err := c.exec(ctx, fmt.Sprintf(`ALTER TABLE events ATTACH PARTITION %s FOR VALUES FROM ('%s') TO ('%s')`,
				name, lo.Format(time.RFC3339), hi.Format(time.RFC3339))); err != nil {
				return err
			}
			added++
			return nil
		})
		if err != nil {
			return added, s.wrap("prepare event day "+day.Format(time.DateOnly), err)
		}
	}
	return added, nil
}

// DropEventsBefore implements store.EventRetention.
func (s *Store) DropEventsBefore(ctx context.Context, before time.Time) (store.EventDrop, error) {
	var out store.EventDrop
	if before.IsZero() {
		return out, nil
	}
	if s.d.Name != "postgres" {
		res, err := s.conn().exec(ctx, `DELETE FROM events WHERE at < ?`, s.t(norm(before)))
		if err != nil {
			return out, s.wrap("delete old events", err)
		}
		out.Rows, err = res.RowsAffected()
		return out, s.wrap("delete old events", err)
	}
	have, err := s.eventPartitions(ctx, s.conn())
	if err != nil {
		return out, s.wrap("list event partitions", err)
	}
	for day, name := range have {
		if day.AddDate(0, 0, 1).After(before) {
			continue // some of the day is still kept
		}
		err := s.inTx(ctx, func(c conn) error {
			if err := c.lock(ctx, "events.partitions"); err != nil {
				return err
			}
			_, err := c.exec(ctx, `DROP TABLE IF EXISTS `+name)
			return err
		})
		if err != nil {
			return out, s.wrap("drop event day "+day.Format(time.DateOnly), err)
		}
		out.Days = append(out.Days, day)
	}
	res, err := s.conn().exec(ctx, `DELETE FROM events_default WHERE at < ?`, s.t(norm(before)))
	if err != nil {
		return out, s.wrap("delete old events", err)
	}
	out.Rows, err = res.RowsAffected()
	return out, s.wrap("delete old events", err)
}
