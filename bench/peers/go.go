// go peer: iod's job with Go's net package, a goroutine per connection.
//
// usage: go PORT [upper|echo]   (built by bench/run with go build)
//
// Listens on 127.0.0.1:PORT (0 picks a port) and prints
// "go: listening on 127.0.0.1:PORT" to stderr.
package main

import (
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"syscall"
	"time"
)

// upper changes a-z to A-Z in place; every other byte stays as it is.
func upper(b []byte) {
	for i, c := range b {
		if c >= 'a' && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
	}
}

// serve reads, transforms and writes back until the client is done
// sending, then shuts down our sending side.  Write blocks until the
// kernel takes everything, so a client that does not read stops us
// reading: backpressure.
func serve(c *net.TCPConn, echo bool) {
	defer c.Close()
	c.SetNoDelay(true)
	buf := make([]byte, 64*1024)
	for {
		n, err := c.Read(buf)
		if n > 0 {
			if !echo {
				upper(buf[:n])
			}
			if _, err := c.Write(buf[:n]); err != nil {
				return
			}
		}
		if err == io.EOF {
			c.CloseWrite()
			return
		}
		if err != nil {
			return
		}
	}
}

// setBacklog listens again with our backlog: net.Listen always uses the
// kernel's somaxconn, and the other servers ask for 4096.
func setBacklog(ln *net.TCPListener, backlog int) {
	rc, err := ln.SyscallConn()
	if err == nil {
		rc.Control(func(fd uintptr) { syscall.Listen(int(fd), backlog) })
	}
}

func main() {
	port := "0"
	if len(os.Args) > 1 {
		port = os.Args[1]
	}
	echo := len(os.Args) > 2 && os.Args[2] == "echo"
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		log.Fatal(err)
	}
	setBacklog(ln.(*net.TCPListener), 4096)
	fmt.Fprintf(os.Stderr, "go: listening on %s\n", ln.Addr())
	for {
		c, err := ln.Accept()
		if err != nil {
			// Out of descriptors, say: wait a moment, as net/http does.
			log.Print(err)
			time.Sleep(10 * time.Millisecond)
			continue
		}
		go serve(c.(*net.TCPConn), echo)
	}
}
