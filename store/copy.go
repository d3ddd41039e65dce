package store

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"time"
)

// copyRows writes rows in PostgreSQL's binary COPY format, here rather
// than by pgx: pgx looks up the table's column types with a query before
// each COPY and plans the encoding of every value of every row, about a
// tenth of an upload's own CPU. The statements in copyScored name the
// columns, whose types the writers below must match: a mismatch fails the
// COPY ("incorrect binary data format"), which the PostgreSQL tests of a
// batch would show.
type copyRows struct {
	b   []byte
	err error // the first value that does not fit its column
}

// copyReader is the COPY data of n rows, each written by row, encoded a
// piece at a time as PostgreSQL reads it: never the whole batch in memory.
type copyReader struct {
	c        copyRows
	off      int // how much of c.b was read
	next, n  int
	fields   int
	row      func(c *copyRows, i int)
	finished bool
}

// copyPiece is about how much a read encodes (pgconn reads 64 KiB at a time).
const copyPiece = 64 << 10

// pgEpoch is where PostgreSQL's timestamps count from, in Unix microseconds.
const pgEpoch = 946_684_800_000_000

func newCopyReader(fields, n int, row func(c *copyRows, i int)) *copyReader {
	r := &copyReader{c: copyRows{b: make([]byte, 0, copyPiece+4096)}, n: n, fields: fields, row: row}
	// Signature, flags, header extension length.
	r.c.b = append(r.c.b, "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"...)
	return r
}

func (r *copyReader) Read(p []byte) (int, error) {
	for r.off == len(r.c.b) {
		if r.finished {
			return 0, io.EOF
		}
		r.c.b, r.off = r.c.b[:0], 0
		for ; r.next < r.n && len(r.c.b) < copyPiece; r.next++ {
			r.c.row(r.fields)
			r.row(&r.c, r.next)
		}
		if r.c.err != nil {
			return 0, r.c.err // pgconn ends the COPY with it, storing nothing
		}
		if r.next == r.n {
			r.c.b = binary.BigEndian.AppendUint16(r.c.b, 0xffff) // end of data
			r.finished = true
		}
	}
	n := copy(p, r.c.b[r.off:])
	r.off += n
	return n, nil
}

func (c *copyRows) row(fields int) { c.b = binary.BigEndian.AppendUint16(c.b, uint16(fields)) }
func (c *copyRows) null()          { c.b = binary.BigEndian.AppendUint32(c.b, math.MaxUint32) } // length -1

// text writes a text column: PostgreSQL checks the bytes are valid UTF-8.
func (c *copyRows) text(s string) {
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(s)))
	c.b = append(c.b, s...)
}

func (c *copyRows) textOrNull(s *string) {
	if s == nil {
		c.null()
		return
	}
	c.text(*s)
}

func (c *copyRows) bytes(p []byte) {
	if p == nil {
		c.null()
		return
	}
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(len(p)))
	c.b = append(c.b, p...)
}

func (c *copyRows) int4(n int) {
	if n != int(int32(n)) && c.err == nil {
		c.err = fmt.Errorf("copy: %d does not fit a PostgreSQL integer", n)
	}
	c.b = binary.BigEndian.AppendUint32(c.b, 4)
	c.b = binary.BigEndian.AppendUint32(c.b, uint32(int32(n)))
}

func (c *copyRows) int8(n int64) {
	c.b = binary.BigEndian.AppendUint32(c.b, 8)
	c.b = binary.BigEndian.AppendUint64(c.b, uint64(n))
}

func (c *copyRows) int8OrNull(n *int64) {
	if n == nil {
		c.null()
		return
	}
	c.int8(*n)
}

func (c *copyRows) float8(f float64) {
	c.b = binary.BigEndian.AppendUint32(c.b, 8)
	c.b = binary.BigEndian.AppendUint64(c.b, math.Float64bits(f))
}

func (c *copyRows) float8OrNull(f *float64) {
	if f == nil {
		c.null()
		return
	}
	c.float8(*f)
}

func (c *copyRows) boolOrNull(v *bool) {
	if v == nil {
		c.null()
		return
	}
	c.b = binary.BigEndian.AppendUint32(c.b, 1)
	if *v {
		c.b = append(c.b, 1)
	} else {
		c.b = append(c.b, 0)
	}
}

// timestamptz writes t to the microsecond, as PostgreSQL keeps it.
func (c *copyRows) timestamptz(t time.Time) {
	c.int8(t.UnixMicro() - pgEpoch)
}
