package store

import "hash/maphash"

// CollideImportKeys makes every key of the import's key tracker collide
// until the returned function is called (tests that call it must not run
// in parallel with other imports of the same process... any import stays
// correct, only slower).
func CollideImportKeys() (restore func()) {
	keyHash = func(maphash.Seed, string) uint64 { return 42 }
	return func() { keyHash = maphash.String }
}

// SmallImportChunks makes the import parse batches of 2 lines and bulk
// loads insert chunks of about 3 lines, until restore is called (not in
// parallel with other imports).
func SmallImportChunks() (restore func()) {
	lines, rows := batchLines, bulkChunkRows
	batchLines, bulkChunkRows = 2, 3
	return func() { batchLines, bulkChunkRows = lines, rows }
}
