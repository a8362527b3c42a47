package reqctx

import "testing"

func TestMaskCSRFDiffersEachTimeAndUnmasksToTheToken(t *testing.T) {
	const token = "Zm9vYmFyLXRva2VuLTAxMjM0NTY3ODktYWJjZGVmZ2hpams"
	seen := map[string]bool{}
	for range 50 {
		m := MaskCSRF(token)
		if seen[m] {
			t.Fatalf("MaskCSRF gave %q twice", m)
		}
		seen[m] = true
		if m == token {
			t.Fatalf("MaskCSRF gave the bare token")
		}
		if got := UnmaskCSRF(m); got != token {
			t.Fatalf("UnmaskCSRF(MaskCSRF(t)) = %q, want %q", got, token)
		}
	}
}

func TestUnmaskCSRFRefusesWhatIsNotMasked(t *testing.T) {
	for _, sent := range []string{"", "!!!", "YQ", "not base64 at all"} {
		if got := UnmaskCSRF(sent); got != "" {
			t.Errorf("UnmaskCSRF(%q) = %q, want \"\"", sent, got)
		}
	}
}
