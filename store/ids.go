package store

import (
	"crypto/rand"
	"encoding/binary"
	"strings"
	"time"
)

// crockford is Crockford's base32 alphabet in lower case: no i, l, o, u, so
// ids read aloud or typed from a receipt are not misread.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// NewID returns prefix + "_" + 26 characters: 48 bits of milliseconds then 80
// random bits. Ids sort by creation time, which the admin's keyset
// pagination relies on.
func NewID(prefix string, now time.Time) string {
	var r [10]byte
	rand.Read(r[:]) // never fails: it fills r or crashes the program
	return formatID(prefix, now, r)
}

// formatID writes an id from its time and its 80 random bits (NewID, and
// the seeder, which draws them from its own source).
func formatID(prefix string, now time.Time, r [10]byte) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(now.UnixMilli())<<16)
	copy(b[6:], r[:])
	hi := binary.BigEndian.Uint64(b[:8])
	lo := binary.BigEndian.Uint64(b[8:])
	var sb strings.Builder
	sb.Grow(len(prefix) + 27)
	sb.WriteString(prefix)
	sb.WriteByte('_')
	// 128 bits as 26 base32 digits, most significant first (the top two
	// digits' spare bits are zero).
	for i := 25; i >= 0; i-- {
		shift := uint(i * 5)
		var v uint64
		if shift >= 64 {
			v = hi >> (shift - 64)
		} else {
			v = lo>>shift | hi<<(64-shift) // a shift of 64 yields 0 in Go
		}
		sb.WriteByte(crockford[v&31])
	}
	return sb.String()
}
