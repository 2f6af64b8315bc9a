package query

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"slices"
)

// A continue token is standard base64 (type_base64_data, padded) of
//
//	version (1 byte, 1) | fingerprint (16 bytes) | id of the last item returned
//
// The fingerprint is a hash of the filters (as a set) and the include list
// (in order) the page was computed with. It is not a signature: a client
// that forges a token can only choose where its listing resumes, which a
// filter on id does as well.
const (
	tokenVersion   = 1
	fingerprintLen = 16
)

type fingerprint [fingerprintLen]byte

// cursor is a decoded continue token.
type cursor struct {
	fp fingerprint
	id string
}

var (
	errTokenEncoding = errors.New("is not base64 data (^([A-Za-z0-9+/]{4})*(([A-Za-z0-9+/]{2})==|([A-Za-z0-9+/]{3})=)?$)")
	errTokenContent  = errors.New("is not a continue token issued by this API")
	errTokenQuery    = errors.New("was issued for a listing with other filter or include parameters")
)

// fingerprintOf hashes filters, order and duplicates ignored (they are
// ANDed), and include, in order (it orders the projected fields).
func fingerprintOf(filters []Filter, include []string) fingerprint {
	fs := make([]string, len(filters))
	for i, f := range filters {
		fs[i] = f.String()
	}
	slices.Sort(fs)
	fs = slices.Compact(fs)

	h := sha256.New()
	var n [binary.MaxVarintLen64]byte
	write := func(s string) {
		h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
		h.Write([]byte(s))
	}
	write("hookshot/query.continue/v1")
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(fs)))])
	for _, f := range fs {
		write(f)
	}
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(include)))])
	for _, s := range include {
		write(s)
	}
	var fp fingerprint
	copy(fp[:], h.Sum(nil))
	return fp
}

// encodeToken returns the continue token resuming after id.
func encodeToken(fp fingerprint, id string) string {
	b := make([]byte, 0, 1+fingerprintLen+len(id))
	b = append(b, tokenVersion)
	b = append(b, fp[:]...)
	b = append(b, id...)
	return base64.StdEncoding.EncodeToString(b)
}

// decodeToken reads a continue token. The text must match type_base64_data
// exactly (the decoder alone would skip newlines).
func decodeToken(tok string) (cursor, error) {
	for i := 0; i < len(tok); i++ {
		switch c := tok[i]; {
		case isAlnum(c), c == '+', c == '/', c == '=':
		default:
			return cursor{}, errTokenEncoding
		}
	}
	b, err := base64.StdEncoding.Strict().DecodeString(tok)
	if err != nil {
		return cursor{}, errTokenEncoding
	}
	if len(b) <= 1+fingerprintLen || b[0] != tokenVersion {
		return cursor{}, errTokenContent
	}
	var c cursor
	copy(c.fp[:], b[1:])
	c.id = string(b[1+fingerprintLen:])
	return c, nil
}
