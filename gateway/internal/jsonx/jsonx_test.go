package jsonx

import (
	"encoding/json"
	"testing"
)

// TestTextReadsStringsAndNumbersAndNothingElse: a string is its text, a
// number its digits as written, anything else "", and no value makes the
// whole answer fail.
func TestTextReadsStringsAndNumbersAndNothingElse(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{`"200"`, "200"}, {`200`, "200"}, {`-1.50`, "-1.50"}, {`" spaced "`, " spaced "},
		{`null`, ""}, {`true`, ""}, {`{"a":1}`, ""}, {`[1]`, ""},
	} {
		var v struct {
			X Text `json:"x"`
			Y int  `json:"y"`
		}
		if err := json.Unmarshal([]byte(`{"x":`+tt.in+`,"y":7}`), &v); err != nil {
			t.Fatalf("%s: %v", tt.in, err)
		}
		if string(v.X) != tt.want || v.Y != 7 {
			t.Errorf("%s: got %q and y %d, want %q and 7", tt.in, v.X, v.Y, tt.want)
		}
	}
	if got := Text(" 12 ").Trimmed(); got != "12" {
		t.Errorf("Trimmed: %q", got)
	}
}
