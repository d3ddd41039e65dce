package store_test

import (
	"bytes"
	"context"
	"io"
	"testing"

	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/store/storetest"
)

// An upload's file waits for its job in upload_chunks uncompressed on
// PostgreSQL (migration 0021: compressing it cost more than the rest of
// accepting the file), and reads back byte for byte across its chunks.
func TestUploadFileStoredUncompressed(t *testing.T) {
	db := storetest.Postgres(t) // skips without PostgreSQL
	ctx := context.Background()
	a, _, ua, _ := twoTenants(t, db)
	file := bytes.Repeat([]byte("step,type,amount\n1,TRANSFER,100.00\n"), 90_000) // 3.15 MB: four chunks, very compressible
	u := &store.Upload{UserID: &ua.ID, UserEmail: ua.Email, FileName: "a.csv", SizeBytes: int64(len(file)), Status: store.UploadQueued}
	if err := store.CreateUpload(ctx, a, store.Actor{UserID: ua.ID, Email: ua.Email}, u, nil, bytes.NewReader(file)); err != nil {
		t.Fatal(err)
	}
	var chunks, compressed int
	if err := store.QueryRowForTest(ctx, db, `SELECT count(*), count(pg_column_compression(data)) FROM upload_chunks
		WHERE upload_id = '`+u.ID+`'`, &chunks, &compressed); err != nil {
		t.Fatal(err)
	}
	if chunks != 4 || compressed != 0 {
		t.Errorf("upload_chunks: %d chunks, %d compressed; want 4, none compressed", chunks, compressed)
	}
	got, err := io.ReadAll(store.UploadFile(ctx, a, u.ID))
	if err != nil || !bytes.Equal(got, file) {
		t.Fatalf("UploadFile() read %d bytes (%v), want the %d stored", len(got), err, len(file))
	}
}
