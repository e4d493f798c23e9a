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
