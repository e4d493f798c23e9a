package main

import (
	"encoding/json"
	"fmt"
)

// print writes v as JSON with --json, otherwise the text line.
func (e *Env) print(v any, text string) error {
	if e.JSON {
		enc := json.NewEncoder(e.Stdout)
		return enc.Encode(v)
	}
	_, err := fmt.Fprintln(e.Stdout, text)
	return err
}
