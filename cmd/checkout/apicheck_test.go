package main

import (
	"net/http"
	"testing"
	"time"

	"checkout/web/apicheck"
)

// checkedClient is the HTTP client of these tests: every /api/ request it
// makes to the running app, and the app's answer, is held to the OpenAPI
// document (see apicheck). timeout 0 is none, as http.DefaultClient.
func checkedClient(t testing.TB, timeout time.Duration) *http.Client {
	t.Helper()
	return apicheck.For(t).Client(t, &http.Client{Timeout: timeout})
}
