// Package assets embeds Sentinel's static files (vendored htmx, the
// stylesheet, the small app script) and names each by a content-hash URL so
// browsers may cache them forever.
package assets

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
)

//go:embed *.js *.css *.svg
var files embed.FS

// FS is the embedded asset tree.
var FS fs.FS = files

// hashes maps file name to the first 12 hex digits of its SHA-256.
var hashes = func() map[string]string {
	m := map[string]string{}
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic(fmt.Sprintf("assets: read embedded dir: %v", err))
	}
	for _, e := range entries {
		b, err := fs.ReadFile(files, e.Name())
		if err != nil {
			panic(fmt.Sprintf("assets: read %s: %v", e.Name(), err))
		}
		sum := sha256.Sum256(b)
		m[e.Name()] = hex.EncodeToString(sum[:6])
	}
	return m
}()

// URL returns the content-hashed URL of an embedded file. It panics on an
// unknown name, which a page test catches before release.
func URL(name string) string {
	h, ok := hashes[name]
	if !ok {
		panic("assets: unknown asset " + name)
	}
	return "/assets/" + h + "/" + name
}

// Hash returns the content hash of name and whether the file exists.
func Hash(name string) (string, bool) {
	h, ok := hashes[name]
	return h, ok
}
