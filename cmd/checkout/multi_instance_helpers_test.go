package main

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"checkout/gateway/sandbox"
)

// Which process sends a request: the instances are this test's children
// on this machine, so the client end of a connection that reached the
// merchant's endpoint is a socket in /proc/net/tcp whose inode one of them
// has open. The app itself says nothing about which instance it is (the
// lease holder is a random name per try, the User-Agent is the same for
// all), and needs not.

// socketOwner returns the pid, among pids, of the process whose TCP socket
// goes from local (the client's address as the server saw it) to remote
// (the server's listening address).
func socketOwner(local, remote string, pids []int) (int, error) {
	if runtime.GOOS != "linux" {
		return 0, errors.New("finding a socket's process needs Linux's /proc")
	}
	lport, err := addrPort(local)
	if err != nil {
		return 0, err
	}
	rport, err := addrPort(remote)
	if err != nil {
		return 0, err
	}
	inode := ""
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		if inode, err = socketInode(table, lport, rport); err != nil {
			return 0, err
		}
		if inode != "" {
			break
		}
	}
	if inode == "" {
		return 0, fmt.Errorf("no TCP socket from port %d to port %d", lport, rport)
	}
	want := "socket:[" + inode + "]"
	for _, pid := range pids {
		fds, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid))
		if err != nil {
			continue // ended meanwhile
		}
		for _, fd := range fds {
			if l, err := os.Readlink(filepath.Join(fmt.Sprintf("/proc/%d/fd", pid), fd.Name())); err == nil && l == want {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("the socket %s (port %d to %d) is none of the processes %v", want, lport, rport, pids)
}

func addrPort(addr string) (uint64, error) {
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		return 0, err
	}
	return strconv.ParseUint(p, 10, 16)
}

// socketInode finds, in a /proc/net/tcp{,6} table, the inode of the socket
// whose local port is lport and remote port rport ("" when none is).
// A line: "sl local_address rem_address st tx:rx tr:when retrnsmt uid
// timeout inode ...", addresses as hex "ADDR:PORT".
func socketInode(table string, lport, rport uint64) (string, error) {
	f, err := os.Open(table)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", nil
		}
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan() // the heading
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 10 {
			continue
		}
		if hexPort(fields[1]) == lport && hexPort(fields[2]) == rport && fields[9] != "0" {
			return fields[9], nil
		}
	}
	return "", sc.Err()
}

func hexPort(addr string) uint64 {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return 0
	}
	p, err := strconv.ParseUint(addr[i+1:], 16, 16)
	if err != nil {
		return 0
	}
	return p
}

// simulator serves the sandbox newSim makes (given the URL it is served
// at) on a loopback server for the rest of the test. The handler is in
// place before the server accepts anything: the app processes' requests
// reach it with no Go synchronisation the race detector could see, so a
// handler set after the server started was a data race.
func simulator(t *testing.T, newSim func(url string) *sandbox.Sandbox) *sandbox.Sandbox {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	sim := newSim("http://" + srv.Listener.Addr().String())
	srv.Config.Handler = sim.Handler()
	srv.Start()
	t.Cleanup(srv.Close)
	t.Cleanup(sim.Close)
	return sim
}
