package apicheck

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// decodeJSON decodes a body for schema checks: numbers as float64, as the
// validators expect.
func decodeJSON(b []byte) (any, error) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("body is not JSON: %w", err)
	}
	return v, nil
}
