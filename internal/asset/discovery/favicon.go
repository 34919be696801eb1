package discovery

import (
	"encoding/base64"
	"math/bits"
)

// FaviconHash is the hash internet search engines give a site's icon
// (Shodan's http.favicon.hash, FOFA's icon_hash): MurmurHash3 (x86,
// 32-bit, seed 0), read as a signed number, of the icon's base64 encoding
// in MIME lines (see mimeBase64). A hash found by a scan can be searched
// for there as is.
func FaviconHash(icon []byte) int32 {
	return int32(murmur3x86_32(mimeBase64(icon), 0)) // #nosec G115 -- the engines print the hash as a signed 32-bit number
}

// mimeBase64 encodes b in standard base64 with a new line after every 76
// characters and after the last, partial, line: the layout of Python's
// base64.encodebytes, over which the engines compute the icon hash. An
// empty input gives an empty output.
func mimeBase64(b []byte) []byte {
	enc := base64.StdEncoding.EncodeToString(b)
	out := make([]byte, 0, len(enc)+len(enc)/76+1)
	for len(enc) > 0 {
		n := min(len(enc), 76)
		out = append(out, enc[:n]...)
		out = append(out, '\n')
		enc = enc[n:]
	}
	return out
}

// murmur3x86_32 is Austin Appleby's MurmurHash3_x86_32 of data with seed.
func murmur3x86_32(data []byte, seed uint32) uint32 {
	const (
		c1 = 0xcc9e2d51
		c2 = 0x1b873593
	)
	h := seed
	n := len(data)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
		h = bits.RotateLeft32(h, 13)
		h = h*5 + 0xe6546b64
	}
	var k uint32
	switch n - i {
	case 3:
		k ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		k ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		k ^= uint32(data[i])
		k *= c1
		k = bits.RotateLeft32(k, 15)
		k *= c2
		h ^= k
	}
	h ^= uint32(n) // #nosec G115 -- the algorithm mixes in the length modulo 2^32
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}
