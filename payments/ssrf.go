package payments

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
)

// The webhook SSRF guard: which addresses a merchant's webhook may be sent
// to, checked on the URL when it is set and on every address dialled.

// CheckWebhookURL accepts a merchant's webhook URL: http or https, a host,
// no credentials, and unless allowPrivate no loopback or private literal
// address (names are checked again after DNS, when dialled).
func CheckWebhookURL(v string, allowPrivate bool) error {
	if err := CheckMerchantURL(v); err != nil {
		return err
	}
	if allowPrivate {
		return nil
	}
	u, _ := url.Parse(v) // checked above
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return errors.New("URL must not point at this machine (set CHECKOUT_WEBHOOK_ALLOW_PRIVATE=1 to allow it)")
	}
	if ip, err := netip.ParseAddr(host); err == nil && blockedAddr(ip) {
		return fmt.Errorf("URL must not point at a loopback, private or link-local address (%s); set CHECKOUT_WEBHOOK_ALLOW_PRIVATE=1 to allow it", ip)
	}
	return nil
}

// blockedPrefixes are ranges the standard library does not classify but
// that no merchant's public server lives in.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),     // "this network"
	netip.MustParsePrefix("100.64.0.0/10"), // carrier-grade NAT; some clouds' metadata
	netip.MustParsePrefix("192.0.0.0/24"),  // IETF protocol assignments
	netip.MustParsePrefix("198.18.0.0/15"), // benchmarking
	netip.MustParsePrefix("240.0.0.0/4"),   // reserved, and broadcast
}

// blockedAddr reports whether a webhook may not be sent to ip: loopback,
// private, link-local (169.254.169.254, the cloud metadata address, among
// them), unspecified, multicast, and the ranges above.
func blockedAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() || !ip.IsValid() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// errBlockedAddress is the dialler's refusal.
var errBlockedAddress = errors.New("webhook address refused: loopback, private, link-local or metadata address")

// guardControl runs after DNS resolution, on the address actually dialled,
// so a name that resolves (or re-resolves) to an internal address is
// refused too.
func guardControl(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", errBlockedAddress, address)
	}
	if blockedAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s", errBlockedAddress, ap.Addr())
	}
	return nil
}
