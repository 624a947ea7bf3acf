// An independent client of the C2SP tlog-tiles read API, built on Go's
// golang.org/x/mod/sumdb/tlog and sumdb/note (code we did not write).
//
//	go run . <base URL> <log verifier key> [index ...]
//
// It fetches <base>/tlog/checkpoint and opens it with the verifier key (the
// Ed25519 signature must verify); it authenticates the hash tiles against the
// checkpoint's root with tlog.TileHashReader and recomputes the root with
// tlog.TreeHash; it fetches every entry bundle, rebuilds the leaves from the
// entries (tlog.RecordHash), checks each against the tiles and rebuilds the
// tree from them alone; and for each index given (or every entry, with
// "all") it builds an inclusion proof from the tiles (tlog.ProveRecord) and
// checks it (tlog.CheckRecord).
//
// On success it prints one line "ok <size> <root hex> <proofs checked>" and
// then "<seq> <leaf hex>" for every entry; on any failure it exits 1 with a
// message.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

const height = 8

func fail(format string, args ...interface{}) {
	fmt.Fprintf(os.Stderr, "tiles: "+format+"\n", args...)
	os.Exit(1)
}

func get(url string, wantType string) []byte {
	res, err := http.Get(url)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		fail("GET %s: %v", url, err)
	}
	if res.StatusCode != 200 {
		fail("GET %s: status %d: %s", url, res.StatusCode, body)
	}
	if ct := res.Header.Get("Content-Type"); ct != wantType {
		fail("GET %s: Content-Type %q, want %q", url, ct, wantType)
	}
	return body
}

// tilePath is the tlog-tiles path of a Go tlog.Tile: Go's own sumdb path
// ("tile/8/<L>/<N>[.p/<W>]", "tile/8/data/<N>..." for entries) with the
// height element dropped and "data" named "entries". The index encoding is
// Go's.
func tilePath(t tlog.Tile) string {
	p := strings.TrimPrefix(t.Path(), "tile/8/")
	if t.L == -1 {
		p = "entries/" + strings.TrimPrefix(p, "data/")
	}
	return "tile/" + p
}

type tileReader struct {
	base    string
	fetched int
	cache   map[tlog.Tile][]byte
}

func (r *tileReader) Height() int { return height }

func (r *tileReader) ReadTiles(tiles []tlog.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, t := range tiles {
		if data, ok := r.cache[t]; ok {
			out[i] = data
			continue
		}
		out[i] = get(r.base+"/tlog/"+tilePath(t), "application/octet-stream")
		r.fetched++
	}
	return out, nil
}

// SaveTiles is called only with tiles that were authenticated.
func (r *tileReader) SaveTiles(tiles []tlog.Tile, data [][]byte) {
	for i, t := range tiles {
		r.cache[t] = data[i]
	}
}

// memHashes holds stored hashes computed here, from the entries alone.
type memHashes []tlog.Hash

func (m memHashes) ReadHashes(indexes []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		if x < 0 || x >= int64(len(m)) {
			return nil, fmt.Errorf("hash %d not computed", x)
		}
		out[i] = m[x]
	}
	return out, nil
}

func main() {
	if len(os.Args) < 3 {
		fail("usage: tiles <base URL> <log verifier key> [index ... | all]")
	}
	base, vkey := strings.TrimRight(os.Args[1], "/"), os.Args[2]

	// The checkpoint: a signed note whose Ed25519 signature must verify.
	verifier, err := note.NewVerifier(vkey)
	if err != nil {
		fail("verifier key: %v", err)
	}
	msg := get(base+"/tlog/checkpoint", "text/plain; charset=utf-8")
	n, err := note.Open(msg, note.VerifierList(verifier))
	if err != nil {
		fail("checkpoint does not verify: %v", err)
	}
	lines := strings.Split(n.Text, "\n")
	if len(lines) < 4 || lines[len(lines)-1] != "" {
		fail("checkpoint body is not origin, size, root: %q", n.Text)
	}
	if lines[0] != verifier.Name() {
		fail("origin %q is not the key's name %q", lines[0], verifier.Name())
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || size < 1 || strconv.FormatInt(size, 10) != lines[1] {
		fail("checkpoint size %q", lines[1])
	}
	rootBytes, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(rootBytes) != tlog.HashSize {
		fail("checkpoint root %q", lines[2])
	}
	var root tlog.Hash
	copy(root[:], rootBytes)
	tree := tlog.Tree{N: size, Hash: root}

	// Hash tiles, authenticated against the checkpoint by Go's reader.
	tr := &tileReader{base: base, cache: map[tlog.Tile][]byte{}}
	hr := tlog.TileHashReader(tree, tr)
	th, err := tlog.TreeHash(size, hr)
	if err != nil {
		fail("tree hash from tiles: %v", err)
	}
	if th != root {
		fail("root from tiles %x, checkpoint says %x", th[:], root[:])
	}

	// Entry bundles: every entry, its leaf hash, and the tree rebuilt from them.
	var leaves []tlog.Hash
	var stored memHashes
	for k := int64(0); k*256 < size; k++ {
		w := size - k*256
		if w > 256 {
			w = 256
		}
		t := tlog.Tile{H: height, L: -1, N: k, W: int(w)}
		b := get(base+"/tlog/"+tilePath(t), "application/octet-stream")
		for i := int64(0); i < w; i++ {
			if len(b) < 2 {
				fail("bundle %d ends after %d of %d entries", k, i, w)
			}
			l := int(binary.BigEndian.Uint16(b[:2]))
			if len(b) < 2+l {
				fail("bundle %d: entry %d is cut short", k, i)
			}
			entry := b[2 : 2+l]
			b = b[2+l:]
			seq := k*256 + i
			var fields struct {
				Seq *int64 `json:"seq"`
			}
			if err := json.Unmarshal(entry, &fields); err != nil || fields.Seq == nil || *fields.Seq != seq {
				fail("entry %d is not its canonical entry: %q", seq, entry)
			}
			leaf := tlog.RecordHash(entry)
			leaves = append(leaves, leaf)
			hs, err := tlog.StoredHashes(seq, entry, stored)
			if err != nil {
				fail("stored hashes for %d: %v", seq, err)
			}
			stored = append(stored, hs...)
		}
		if len(b) != 0 {
			fail("bundle %d has %d bytes after its %d entries", k, len(b), w)
		}
	}
	fromEntries, err := tlog.TreeHash(size, stored)
	if err != nil {
		fail("tree hash from entries: %v", err)
	}
	if fromEntries != root {
		fail("root from the entries %x, checkpoint says %x", fromEntries[:], root[:])
	}
	idx := make([]int64, size)
	for i := range idx {
		idx[i] = tlog.StoredHashIndex(0, int64(i))
	}
	tileLeaves, err := hr.ReadHashes(idx)
	if err != nil {
		fail("leaves from tiles: %v", err)
	}
	for i, l := range tileLeaves {
		if l != leaves[i] {
			fail("entry %d hashes to %x, its level-0 tile says %x", i, leaves[i][:], l[:])
		}
	}

	// Inclusion proofs built from the tiles.
	var check []int64
	for _, a := range os.Args[3:] {
		if a == "all" {
			for i := int64(0); i < size; i++ {
				check = append(check, i)
			}
			continue
		}
		i, err := strconv.ParseInt(a, 10, 64)
		if err != nil || i < 0 || i >= size {
			fail("index %q is not in a tree of %d", a, size)
		}
		check = append(check, i)
	}
	for _, i := range check {
		p, err := tlog.ProveRecord(size, i, hr)
		if err != nil {
			fail("proof of %d: %v", i, err)
		}
		if err := tlog.CheckRecord(p, size, root, i, leaves[i]); err != nil {
			fail("proof of %d does not verify: %v", i, err)
		}
		// The same proof must not prove another leaf.
		other := leaves[(i+1)%size]
		if size > 1 && other != leaves[i] && tlog.CheckRecord(p, size, root, i, other) == nil {
			fail("proof of %d also proves another leaf", i)
		}
	}

	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	fmt.Fprintf(out, "ok %d %s %d %d\n", size, hex.EncodeToString(root[:]), len(check), tr.fetched)
	for i, l := range leaves {
		fmt.Fprintf(out, "%d %s\n", i, hex.EncodeToString(l[:]))
	}
}
