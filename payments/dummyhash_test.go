package payments

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"checkout/store"
)

// TestServiceStartMakesNoDummyHashTheFirstLoginDoes: building the service
// leaves the Argon2 dummy hash (19 MiB while it is made) for the first
// login, which makes it even for a known email, so that the first login
// costs the same whichever email it names. The dummy hash is made once per
// process, so the test runs in a process of its own.
func TestServiceStartMakesNoDummyHashTheFirstLoginDoes(t *testing.T) {
	if os.Getenv("CHECKOUT_TEST_DUMMY_HASH_PROCESS") != "1" {
		cmd := exec.Command(os.Args[0], "-test.run=^TestServiceStartMakesNoDummyHashTheFirstLoginDoes$", "-test.count=1", "-test.v")
		cmd.Env = append(os.Environ(), "CHECKOUT_TEST_DUMMY_HASH_PROCESS=1")
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "--- PASS: TestServiceStartMakesNoDummyHashTheFirstLoginDoes") {
			t.Fatalf("in its own process: %v\n%s", err, out)
		}
		return
	}
	if store.DummyPasswordHashMade() {
		t.Fatal("dummy hash made before the service was built")
	}
	e := newAdminEnv(t)
	// A dummy hash being made, or only started in a goroutine, shows in
	// the goroutines' stacks; one already made shows in the counter.
	stacks := make([]byte, 1<<20)
	stacks = stacks[:runtime.Stack(stacks, true)]
	if store.DummyPasswordHashMade() || strings.Contains(string(stacks), "store.DummyPasswordHash") {
		t.Fatalf("building the service made the dummy hash, or started to:\n%s", stacks)
	}
	if _, ok, err := e.svc.Login(context.Background(), testAdminEmail, testAdminPassword, "192.0.2.50"); !ok || err != nil {
		t.Fatalf("login: ok %v err %v", ok, err)
	}
	if !store.DummyPasswordHashMade() {
		t.Fatal("the first login (a known email) made no dummy hash")
	}
}
