// Package assets embeds Sentinel's static files (vendored htmx, the
// stylesheet, the small app script) and names each by a content-hash URL so
// browsers may cache them forever.
package assets

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path"
	"sync"
)

//go:embed *.js *.css *.svg *.geo.json
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

// compressible are the extensions of the text files worth gzipping; images
// other than SVG are compressed already.
var compressible = map[string]bool{".js": true, ".css": true, ".svg": true, ".json": true}

// gzipped holds each compressible file gzipped at the best level, once: the
// files never change while the process runs, so no request pays for it.
var gzipped = sync.OnceValue(func() map[string][]byte {
	m := map[string][]byte{}
	for name := range hashes {
		if !compressible[path.Ext(name)] {
			continue
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			panic(fmt.Sprintf("assets: read %s: %v", name, err))
		}
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
		if _, err := zw.Write(b); err != nil {
			panic(fmt.Sprintf("assets: gzip %s: %v", name, err))
		}
		if err := zw.Close(); err != nil {
			panic(fmt.Sprintf("assets: gzip %s: %v", name, err))
		}
		if buf.Len() < len(b) {
			m[name] = buf.Bytes()
		}
	}
	return m
})

// Precompress gzips the compressible files now rather than at the first
// request for one. It is safe to call more than once and from several
// goroutines; the work is done once.
func Precompress() { gzipped() }

// Gzipped returns the gzip encoding of name, and false when the file is not
// served compressed (unknown, already compressed, or no smaller gzipped).
func Gzipped(name string) ([]byte, bool) {
	b, ok := gzipped()[name]
	return b, ok
}
