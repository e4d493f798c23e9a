package store

import "hash/maphash"

// TuneImport makes db's imports parse batches of 2 lines and load chunks
// of 3 rows (small) and hash every key of the key tracker alike (collide);
// imports stay correct, only slower.
func TuneImport(db *DB, small, collide bool) {
	if small {
		db.imp.batchLines, db.imp.chunkRows = 2, 3
	}
	if collide {
		db.imp.keyHash = func(maphash.Seed, string) uint64 { return 42 }
	}
}

// CaseOrderQueries are the queries that read a municipality in case order:
// their SQL and the parameters to explain them with.
var CaseOrderQueries = map[string]struct {
	SQL  string
	Args []string
}{
	"decisions cursor": {decisionsSelectSQL, []string{"'unna'"}},
	"cases cursor":     {casesSelectSQL, []string{"'unna'", "'2026-12-01'"}},
	"run lines":        {runPackedSQL, []string{"'unna'", "1"}},
	"export payees":    {exportPayeesSQL, []string{"'unna'"}},
}
