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
// tenth of an upload's own CPU. copyScored names the columns, whose types
// the writers below must match. PostgreSQL refuses a value of the wrong
// width ("incorrect binary data format"), but not two columns of the same
// width written in each other's place: TestSaveScoredBatchKeepsEveryField,
// which reads back every column, is what guards the order.
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

// copyPiece is about how much one refill encodes (pgconn reads a little
// under 64 KiB at a time).
const copyPiece = 64 << 10

// pgEpoch is where PostgreSQL's timestamps count from, in Unix microseconds.
const pgEpoch = 946_684_800_000_000

func newCopyReader(fields, n int, row func(c *copyRows, i int)) *copyReader {
	r := &copyReader{c: copyRows{b: make([]byte, 0, copyPiece+4096)}, n: n, fields: fields, row: row}
	// Signature, flags, header extension length.
	r.c.b = append(r.c.b, "PGCOPY\n\xff\r\n\x00\x00\x00\x00\x00\x00\x00\x00\x00"...)
	return r
}

// Read fills p whole unless the data ends, so that each of pgconn's reads
// is one full message to PostgreSQL.
func (r *copyReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		if r.off == len(r.c.b) {
			if r.finished {
				break
			}
			if err := r.refill(); err != nil {
				return 0, err // pgconn ends the COPY with it, storing nothing
			}
		}
		k := copy(p[n:], r.c.b[r.off:])
		r.off += k
		n += k
	}
	if n == 0 && r.finished {
		return 0, io.EOF
	}
	return n, nil
}

// refill encodes the next rows, about copyPiece bytes of them, and the end
// of the data after the last.
func (r *copyReader) refill() error {
	r.c.b, r.off = r.c.b[:0], 0
	for ; r.next < r.n && len(r.c.b) < copyPiece; r.next++ {
		r.c.row(r.fields)
		r.row(&r.c, r.next)
	}
	if r.c.err != nil {
		return r.c.err
	}
	if r.next == r.n {
		r.c.b = binary.BigEndian.AppendUint16(r.c.b, 0xffff) // end of data
		r.finished = true
	}
	return nil
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
