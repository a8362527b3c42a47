package store

import (
	"reflect"
	"testing"
)

// TestScannedModelsNullableColumnsArePointers: the models read by
// modelColumns (scanned straight into their fields) have a pointer field
// for every column that may hold NULL, so that no stored row fails to scan;
// and every field of theirs is a column of the table.
func TestScannedModelsNullableColumnsArePointers(t *testing.T) {
	s, _ := newTestEnv(t)
	if isPostgres(s.w) {
		t.Skip("modelColumns' scan runs on SQLite only (attemptAndCheckout)")
	}
	for table, model := range map[string]any{"attempts": &Attempt{}, "checkouts": &Checkout{}} {
		var cols []struct {
			Name    string
			Notnull int
			Pk      int
		}
		if err := s.w.Raw("SELECT name, \"notnull\", pk FROM pragma_table_info(?)", table).Scan(&cols).Error; err != nil {
			t.Fatal(err)
		}
		notNull := map[string]bool{}
		for _, c := range cols {
			// SQLite lets a TEXT PRIMARY KEY hold NULL, but the query finds
			// rows by their id (attempts.id = ?, checkouts.id = checkout_id).
			notNull[c.Name] = c.Notnull == 1 || c.Pk > 0
		}
		mc, err := newModelColumns(model)
		if err != nil {
			t.Fatal(err)
		}
		rt := reflect.TypeOf(model).Elem()
		for i, name := range mc.names {
			nn, ok := notNull[name]
			if !ok {
				t.Errorf("%s: the model's column %s is not in the table", table, name)
				continue
			}
			if f := rt.FieldByIndex(mc.index[i]); !nn && f.Type.Kind() != reflect.Pointer {
				t.Errorf("%s.%s may be NULL but the model's field %s is a %s, not a pointer", table, name, f.Name, f.Type)
			}
		}
	}
}
