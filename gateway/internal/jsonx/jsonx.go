// Package jsonx holds the lenient JSON readers that the provider clients
// share: providers write the same field as a string in one answer and a
// number in the next, and one odd value must not lose the rest of an
// answer.
package jsonx

import (
	"bytes"
	"encoding/json"
	"strings"
)

// Text reads a JSON string or number as text (a number keeps its digits as
// written). Any other value (null, a boolean, an object, an array) reads as
// "", which the code that needs the value reports as missing. It never
// fails.
type Text string

// UnmarshalJSON never fails: see Text.
func (s *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*s = ""
	switch {
	case len(b) == 0:
	case b[0] == '"':
		var v string
		if json.Unmarshal(b, &v) == nil {
			*s = Text(v)
		}
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		// encoding/json has already checked that this is a valid number.
		*s = Text(b)
	}
	return nil
}

// Trimmed is the value without surrounding space.
func (s Text) Trimmed() string { return strings.TrimSpace(string(s)) }
