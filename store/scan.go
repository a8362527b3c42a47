package store

import (
	"fmt"
	"reflect"
	"strings"
	"sync"

	"gorm.io/gorm"
	"gorm.io/gorm/schema"
)

// modelColumns is what a query needs to read a model's row without GORM's
// Scan: the model's columns, in the order of its schema, and the index of
// each one's struct field. Made once per model from its GORM schema, so a
// column added to the model is read too.
//
// Rows are scanned straight into the struct's fields (database/sql
// conversions, no reflection per column by name, no value allocated per
// column): every column must be NOT NULL unless its field is a pointer.
// TestScannedModelsNullableColumnsArePointers holds the schema to that.
type modelColumns struct {
	names   []string
	index   [][]int
	queries sync.Map // query's texts
}

func newModelColumns(model any) (*modelColumns, error) {
	sch, err := schema.Parse(model, &schemas, schema.NamingStrategy{})
	if err != nil {
		return nil, fmt.Errorf("store: %T model: %w", model, err)
	}
	c := &modelColumns{}
	for _, name := range sch.DBNames {
		f := sch.FieldsByDBName[name]
		c.names = append(c.names, name)
		c.index = append(c.index, f.StructField.Index)
	}
	return c, nil
}

// list writes the columns as table.column, separated by commas.
func (c *modelColumns) list(b *strings.Builder, table string) {
	for i, name := range c.names {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(table + "." + name)
	}
}

// dests appends the addresses of v's fields (v: a pointer to the model), in
// the order of the columns.
func (c *modelColumns) dests(into []any, v any) []any {
	rv := reflect.ValueOf(v).Elem()
	for _, idx := range c.index {
		into = append(into, rv.FieldByIndex(idx).Addr().Interface())
	}
	return into
}

// Columns of the models read by scanFirst, listed once.
var (
	checkoutColumns = sync.OnceValues(func() (*modelColumns, error) { return newModelColumns(&Checkout{}) })
	attemptColumns  = sync.OnceValues(func() (*modelColumns, error) { return newModelColumns(&Attempt{}) })
)

// scanFirst reads the first row of `SELECT <the model's columns> FROM table
// <rest>` into dst (a pointer to the model), scanned as attemptAndCheckout
// does. It reports false when there is no row.
func scanFirst(db *gorm.DB, cols func() (*modelColumns, error), dst any, table, rest string, args ...any) (bool, error) {
	mc, err := cols()
	if err != nil {
		return false, err
	}
	q := mc.query(table, rest)
	rows, err := db.Raw(q, args...).Rows()
	if err != nil {
		return false, err
	}
	defer rows.Close()
	if !rows.Next() {
		return false, rows.Err()
	}
	if err := rows.Scan(mc.dests(make([]any, 0, len(mc.names)), dst)...); err != nil {
		return false, err
	}
	return true, rows.Close()
}

// query is `SELECT <columns> FROM table <rest>`, made once per table and
// rest (a few constant texts).
func (c *modelColumns) query(table, rest string) string {
	key := table + "\x00" + rest
	if q, ok := c.queries.Load(key); ok {
		return q.(string)
	}
	var b strings.Builder
	b.WriteString("SELECT ")
	c.list(&b, table)
	b.WriteString(" FROM " + table + " " + rest)
	q := b.String()
	c.queries.Store(key, q)
	return q
}
