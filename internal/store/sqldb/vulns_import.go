package sqldb

import (
	"context"
	"strconv"
)

// importCacheKiB is the page cache, in KiB, of a SQLite connection that
// imports findings: enough for the findings table's indexes to stay in
// memory between the files of a large import (SQLite's default is 2 MiB).
const importCacheKiB = 64 << 10

// importCache gives the import's SQLite connection its page cache; the
// connection keeps it.
func importCache(ctx context.Context, c conn) error {
	if c.d.Name != "sqlite" {
		return nil
	}
	_, err := c.exec(ctx, "PRAGMA cache_size = -"+strconv.Itoa(importCacheKiB))
	return err
}
