// Command listener is the target side of bench/discovery: it listens on
// TCP ports of every address of its network namespace, accepts and closes
// every connection, prints "ready" once all ports listen, and exits when
// its standard input closes.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
)

func main() {
	ports := flag.String("ports", "", "comma-separated ports to listen on")
	flag.Parse()
	if err := run(*ports); err != nil {
		fmt.Fprintln(os.Stderr, "listener:", err)
		os.Exit(1)
	}
}

func run(spec string) error {
	if spec == "" {
		return errors.New("no ports (-ports 22,80,...)")
	}
	for _, f := range strings.Split(spec, ",") {
		p, err := strconv.ParseUint(f, 10, 16)
		if err != nil || p == 0 {
			return fmt.Errorf("bad port %q", f)
		}
		ln, err := net.Listen("tcp4", ":"+f) // #nosec G102 -- runs inside the benchmark's own network namespace
		if err != nil {
			return err
		}
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				_ = c.Close()
			}
		}()
	}
	fmt.Println("ready")
	_, err := io.Copy(io.Discard, os.Stdin)
	return err
}
