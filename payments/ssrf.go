package payments

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
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

// blockedPrefixes6 are IPv6 ranges refused whole, whatever they carry.
var blockedPrefixes6 = []netip.Prefix{
	// Site-local (RFC 3879 deprecated it, but stacks still route it inside
	// a site).
	netip.MustParsePrefix("fec0::/10"),
	// The local-use NAT64 prefix (RFC 8215): a network's own translator.
	// Where the IPv4 address sits in it depends on the prefix length the
	// network chose (RFC 6052), which we cannot know, and nothing public
	// is reached through it.
	netip.MustParsePrefix("64:ff9b:1::/48"),
	// IPv4-compatible (RFC 4291 deprecated it): no public server has one,
	// and some stacks still tunnel it to the IPv4 address it carries.
	netip.MustParsePrefix("::/96"),
}

// Forms of IPv6 address that carry an IPv4 address the traffic ends up at.
var (
	nat64Prefix      = netip.MustParsePrefix("64:ff9b::/96")    // RFC 6052 well-known prefix: the last 32 bits
	sixToFourPrefix  = netip.MustParsePrefix("2002::/16")       // RFC 3056 6to4: bits 16 to 48
	teredoPrefix     = netip.MustParsePrefix("2001::/32")       // RFC 4380 Teredo: the last 32 bits, inverted
	translatedPrefix = netip.MustParsePrefix("::ffff:0:0:0/96") // RFC 2765 IPv4-translated (SIIT): the last 32 bits
)

// embeddedIPv4 returns the IPv4 address an IPv6 address of one of the
// forms above carries: the one a NAT64 translator, 6to4 relay or Teredo
// relay would deliver the webhook to. IPv4-mapped addresses are unmapped
// by the caller.
func embeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case nat64Prefix.Contains(ip), translatedPrefix.Contains(ip):
		return netip.AddrFrom4([4]byte(b[12:16])), true
	case sixToFourPrefix.Contains(ip):
		return netip.AddrFrom4([4]byte(b[2:6])), true
	case teredoPrefix.Contains(ip):
		// The client's address is stored inverted (RFC 4380 section 4).
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), true
	}
	return netip.Addr{}, false
}

// blockedAddr reports whether a webhook may not be sent to ip: loopback,
// private, link-local (169.254.169.254, the cloud metadata address, among
// them), unspecified, multicast, the ranges above, and an IPv6 address
// that carries (NAT64, 6to4, Teredo, SIIT) an IPv4 address refused by the
// same rules. Such a form carrying a public IPv4 address is allowed: it
// is a real way to reach that public server.
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
	if ip.Is6() {
		// A zone (fe80::1%eth0) does not change which range an address is in.
		ip = ip.WithZone("")
		for _, p := range blockedPrefixes6 {
			if p.Contains(ip) {
				return true
			}
		}
		if v4, ok := embeddedIPv4(ip); ok {
			return blockedAddr(v4)
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

// webhookDialer is the dialler webhooks are sent through: unless
// allowPrivate, guardControl checks every address it connects to. r is
// the resolver (nil: the system's); tests give one that answers with the
// addresses under test.
func webhookDialer(allowPrivate bool, r *net.Resolver) *net.Dialer {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second, Resolver: r}
	if !allowPrivate {
		d.Control = guardControl
	}
	return d
}
