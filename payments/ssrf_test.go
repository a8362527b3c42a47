package payments

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// ipv6Carriers are IPv6 addresses that carry an IPv4 address, and whether
// the webhook guard refuses them. The decisions for a public IPv4 address
// (8.8.8.8): NAT64 with the well-known prefix, 6to4, Teredo, IPv4-mapped
// and IPv4-translated reach that public server and are allowed; the
// local-use NAT64 prefix and IPv4-compatible addresses are refused whole
// (see blockedPrefixes6).
var ipv6Carriers = []struct {
	name    string
	addr    string
	blocked bool
}{
	// NAT64, well-known prefix 64:ff9b::/96: the last 32 bits.
	{"nat64 loopback", "64:ff9b::7f00:1", true},
	{"nat64 10/8", "64:ff9b::10.1.2.3", true},
	{"nat64 metadata", "64:ff9b::a9fe:a9fe", true},
	{"nat64 192.168/16", "64:ff9b::192.168.1.20", true},
	{"nat64 carrier-grade NAT metadata", "64:ff9b::100.100.100.200", true},
	{"nat64 public", "64:ff9b::8.8.8.8", false},

	// NAT64, local-use prefix 64:ff9b:1::/48 (RFC 8215): refused whole.
	{"local nat64 loopback /96", "64:ff9b:1::127.0.0.1", true},
	{"local nat64 metadata /96", "64:ff9b:1::169.254.169.254", true},
	{"local nat64 public /96", "64:ff9b:1::8.8.8.8", true},
	{"local nat64 public /48 embedding", "64:ff9b:1:808:8:800::", true},

	// 6to4 2002::/16: bits 16 to 48.
	{"6to4 loopback", "2002:7f00:1::1", true},
	{"6to4 10/8", "2002:a01:203::1", true},
	{"6to4 metadata", "2002:a9fe:a9fe::1", true},
	{"6to4 192.168/16", "2002:c0a8:114:1::1", true},
	{"6to4 unspecified", "2002::1", true},
	{"6to4 public", "2002:808:808::1", false},

	// Teredo 2001::/32 (server 65.54.227.120, port 40000): the client is
	// the last 32 bits inverted.
	{"teredo loopback", "2001:0:4136:e378:8000:63bf:80ff:fffe", true},
	{"teredo 10/8", "2001:0:4136:e378:8000:63bf:f5fe:fdfc", true},
	{"teredo metadata", "2001:0:4136:e378:8000:63bf:5601:5601", true},
	{"teredo 192.168/16", "2001:0:4136:e378:8000:63bf:3f57:feeb", true},
	{"teredo public", "2001:0:4136:e378:8000:63bf:f7f7:f7f7", false},
	// The server field is not where the traffic goes: only the client counts.
	{"teredo private server public client", "2001:0:a00:1:8000:63bf:f7f7:f7f7", false},
	// Not inverted, 127.0.0.1 is the public 128.255.255.254.
	{"teredo uninverted loopback bits", "2001:0:4136:e378:8000:63bf:7f00:1", false},

	// IPv4-compatible ::/96 (deprecated): refused whole.
	{"compatible loopback", "::127.0.0.1", true},
	{"compatible 10/8", "::10.1.2.3", true},
	{"compatible metadata", "::169.254.169.254", true},
	{"compatible 192.168/16", "::192.168.1.20", true},
	{"compatible public", "::8.8.8.8", true},

	// IPv4-mapped ::ffff:0:0/96.
	{"mapped loopback", "::ffff:127.0.0.1", true},
	{"mapped 10/8", "::ffff:10.1.2.3", true},
	{"mapped metadata", "::ffff:169.254.169.254", true},
	{"mapped 192.168/16", "::ffff:c0a8:114", true},
	{"mapped public", "::ffff:8.8.8.8", false},

	// IPv4-translated ::ffff:0:0:0/96 (SIIT): the last 32 bits.
	{"translated loopback", "::ffff:0:127.0.0.1", true},
	{"translated 10/8", "::ffff:0:10.1.2.3", true},
	{"translated metadata", "::ffff:0:169.254.169.254", true},
	{"translated 192.168/16", "::ffff:0:192.168.1.20", true},
	{"translated public", "::ffff:0:8.8.8.8", false},

	// Site-local fec0::/10, whole.
	{"site-local", "fec0::1", true},
	{"site-local top", "feff:ffff::1", true},
	{"site-local with zone", "fec0::1%eth0", true},

	// Plain public IPv6, next to the ranges above.
	{"public google dns", "2001:4860:4860::8888", false},
	{"public next to nat64", "64:ff9c::7f00:1", false},
	{"public next to 6to4", "2003:7f00:1::1", false},
}

func TestWebhookURLsWithIPv6CarryingInternalIPv4AreRefused(t *testing.T) {
	for _, tc := range ipv6Carriers {
		t.Run(tc.name, func(t *testing.T) {
			if netip.MustParseAddr(tc.addr).Zone() != "" {
				t.Skip("a URL cannot carry a zone here")
			}
			u := "https://[" + tc.addr + "]/hooks"
			if err := CheckWebhookURL(u, false); (err != nil) != tc.blocked {
				t.Errorf("CheckWebhookURL(%s, false) = %v, want refused %v", u, err, tc.blocked)
			}
			if err := CheckWebhookURL(u, true); err != nil {
				t.Errorf("CheckWebhookURL(%s, true) = %v, want allowed (CHECKOUT_WEBHOOK_ALLOW_PRIVATE=1)", u, err)
			}
		})
	}
}

func TestDialerRefusesIPv6CarryingInternalIPv4(t *testing.T) {
	for _, tc := range ipv6Carriers {
		t.Run(tc.name, func(t *testing.T) {
			addr := netip.AddrPortFrom(netip.MustParseAddr(tc.addr), 443).String()
			err := guardControl("tcp6", addr, nil)
			if (err != nil) != tc.blocked {
				t.Fatalf("guardControl(%s) = %v, want refused %v", addr, err, tc.blocked)
			}
			if err != nil && !errors.Is(err, errBlockedAddress) {
				t.Fatalf("guardControl(%s) = %v, not errBlockedAddress", addr, err)
			}
		})
	}
}

// errGuardPassed stops a test dial after the guard let it through, before
// anything is connected to.
var errGuardPassed = errors.New("guard passed")

// TestDialerRefusesNamesResolvingToIPv6CarryingInternalIPv4 dials a name
// through the webhook dialler with a DNS server that answers every AAAA
// query with the address under test: the guard sees the resolved address
// and refuses it. Where the guard lets it through, the dial is stopped
// there instead of connecting to a public address.
func TestDialerRefusesNamesResolvingToIPv6CarryingInternalIPv4(t *testing.T) {
	for _, tc := range ipv6Carriers {
		t.Run(tc.name, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.addr)
			if ip.Zone() != "" {
				t.Skip("DNS cannot answer with a zone")
			}
			d := webhookDialer(false, answeringResolver(ip))
			guard := d.Control
			var seen []string
			d.Control = func(network, address string, c syscall.RawConn) error {
				seen = append(seen, address)
				if err := guard(network, address, c); err != nil {
					return err
				}
				return errGuardPassed
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			conn, err := d.DialContext(ctx, "tcp", "merchant.example.:443")
			if conn != nil {
				conn.Close()
				t.Fatal("a connection was made")
			}
			if len(seen) != 1 {
				t.Fatalf("the guard saw %q, want the one resolved address", seen)
			}
			got, perr := netip.ParseAddrPort(seen[0])
			if perr != nil || got.Addr().Unmap() != ip.Unmap() || got.Port() != 443 {
				t.Fatalf("the guard saw %s, want %s port 443", seen[0], ip)
			}
			if tc.blocked && !errors.Is(err, errBlockedAddress) {
				t.Fatalf("dial = %v, want refused by the guard", err)
			}
			if !tc.blocked && !errors.Is(err, errGuardPassed) {
				t.Fatalf("dial = %v, want let through by the guard", err)
			}
		})
	}

	if d := webhookDialer(true, nil); d.Control != nil {
		t.Error("with CHECKOUT_WEBHOOK_ALLOW_PRIVATE=1 the dialler still has a guard")
	}
}

// TestWebhookClientRefusesIPv6CarryingInternalIPv4 sends through the real
// webhook client to each refused address as a literal: the request fails
// with the guard's refusal, before any connection.
func TestWebhookClientRefusesIPv6CarryingInternalIPv4(t *testing.T) {
	c := NewWebhookClient(false)
	for _, tc := range ipv6Carriers {
		ip := netip.MustParseAddr(tc.addr)
		if !tc.blocked || ip.Zone() != "" {
			continue
		}
		t.Run(tc.name, func(t *testing.T) {
			u := "http://" + netip.AddrPortFrom(ip, 80).String() + "/hooks"
			resp, err := c.Post(u, "application/json", nil)
			if resp != nil {
				resp.Body.Close()
				t.Fatalf("POST %s answered %s", u, resp.Status)
			}
			if !errors.Is(err, errBlockedAddress) {
				t.Fatalf("POST %s = %v, want the guard's refusal", u, err)
			}
		})
	}
}

// answeringResolver is a Go resolver whose DNS server answers every AAAA
// question with ip and every other question with no record.
func answeringResolver(ip netip.Addr) *net.Resolver {
	return &net.Resolver{
		PreferGo: true,
		Dial: func(context.Context, string, string) (net.Conn, error) {
			client, server := net.Pipe()
			go serveDNS(server, ip)
			return client, nil
		},
	}
}

// serveDNS answers DNS queries on a stream connection (two-byte length
// before each message) until the client closes it.
func serveDNS(conn net.Conn, ip netip.Addr) {
	defer conn.Close()
	for {
		var n [2]byte
		if _, err := io.ReadFull(conn, n[:]); err != nil {
			return
		}
		msg := make([]byte, binary.BigEndian.Uint16(n[:]))
		if _, err := io.ReadFull(conn, msg); err != nil {
			return
		}
		resp, err := dnsAnswer(msg, ip)
		if err != nil {
			return
		}
		out := binary.BigEndian.AppendUint16(nil, uint16(len(resp)))
		if _, err := conn.Write(append(out, resp...)); err != nil {
			return
		}
	}
}

func dnsAnswer(query []byte, ip netip.Addr) ([]byte, error) {
	var p dnsmessage.Parser
	h, err := p.Start(query)
	if err != nil {
		return nil, err
	}
	q, err := p.Question()
	if err != nil {
		return nil, err
	}
	b := dnsmessage.NewBuilder(nil, dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true,
		RecursionDesired: h.RecursionDesired, RecursionAvailable: true})
	b.EnableCompression()
	if err := b.StartQuestions(); err != nil {
		return nil, err
	}
	if err := b.Question(q); err != nil {
		return nil, err
	}
	if err := b.StartAnswers(); err != nil {
		return nil, err
	}
	if q.Type == dnsmessage.TypeAAAA {
		rh := dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeAAAA, Class: dnsmessage.ClassINET, TTL: 60}
		if err := b.AAAAResource(rh, dnsmessage.AAAAResource{AAAA: ip.As16()}); err != nil {
			return nil, fmt.Errorf("answer: %w", err)
		}
	}
	return b.Finish()
}
