// Command selftest is the workload of verify.sh: a tiny HTTP server and client in
// one static binary, so the hermetic cluster can be checked end to end with an image
// made on this machine.
//
//	selftest serve           answer GET / with "hello from <hostname>"
//	selftest get URL         GET URL (retrying for 30s), print the body, exit 1 on failure
package main

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"time"
)

func serve() error {
	host, _ := os.Hostname()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Printf("%s %s %s\n", time.Now().UTC().Format(time.RFC3339), r.Method, r.URL.Path)
		fmt.Fprintf(w, "hello from %s\n", host)
	})
	fmt.Println("listening on :8080")
	return http.ListenAndServe(":8080", nil)
}

func get(url string) error {
	client := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := client.Get(url)
		if err == nil {
			body, readErr := io.ReadAll(resp.Body)
			resp.Body.Close()
			if readErr == nil && resp.StatusCode == http.StatusOK {
				fmt.Print(string(body))
				return nil
			}
			err = fmt.Errorf("status %d, read error %v", resp.StatusCode, readErr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET %s: %w", url, err)
		}
		time.Sleep(time.Second)
	}
}

func main() {
	var err error
	switch {
	case len(os.Args) == 2 && os.Args[1] == "serve":
		err = serve()
	case len(os.Args) == 3 && os.Args[1] == "get":
		err = get(os.Args[2])
	default:
		err = fmt.Errorf("usage: selftest serve | selftest get URL")
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "selftest:", err)
		os.Exit(1)
	}
}
