package fleet

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/vigil-sec/vigil/internal/agent"
	"github.com/vigil-sec/vigil/internal/secret"
	"github.com/vigil-sec/vigil/internal/store"
)

// The node's agent CA issues every enrolled agent a client certificate.
// It is one CA for the whole deployment, kept as a platform secret
// (tenant "") sealed with the node's secret key, so every node sharing
// the store verifies the certificates any node issued.
const (
	caSecretID   = "platform-agent-ca"
	caSecretName = "Host agent CA" // #nosec G101 -- the name of the secret, not its value
	// CAValidity is the CA's lifetime; ClientCertValidity an agent
	// certificate's (an agent enrolling again gets a new one).
	CAValidity         = 20 * 365 * 24 * time.Hour
	ClientCertValidity = 2 * 365 * 24 * time.Hour
	// MaxCSR bounds the certificate request an agent sends at enrolment.
	MaxCSR = 8 << 10
)

// CA is the node's agent certificate authority.
type CA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

// CertPEM is the CA certificate, PEM-encoded.
func (c *CA) CertPEM() []byte { return c.pem }

// Pool is a pool holding the CA certificate, to verify agents' client
// certificates with.
func (c *CA) Pool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AddCert(c.cert)
	return p
}

func caAAD() []byte { return []byte("/" + caSecretID) }

// newCA makes a self-signed ECDSA P-256 CA.
func newCA(now time.Time) (*CA, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          randomSerial(),
		Subject:               pkix.Name{CommonName: "Vigil host agent CA", Organization: []string{"Vigil"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(CAValidity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	both := append(append([]byte(nil), certPEM...), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})...)
	return &CA{cert: cert, key: key, pem: certPEM}, both, nil
}

// parseCA reads the CA certificate and key from their PEM blocks.
func parseCA(b []byte) (*CA, error) {
	var ca CA
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			break
		}
		switch blk.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(blk.Bytes)
			if err != nil {
				return nil, err
			}
			ca.cert, ca.pem = c, pem.EncodeToMemory(blk)
		case "EC PRIVATE KEY":
			k, err := x509.ParseECPrivateKey(blk.Bytes)
			if err != nil {
				return nil, err
			}
			ca.key = k
		}
	}
	if ca.cert == nil || ca.key == nil || !ca.cert.IsCA {
		return nil, errors.New("fleet: stored agent CA is incomplete")
	}
	return &ca, nil
}

func randomSerial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n.Add(n, big.NewInt(1))
}

// caHolder loads the CA once, creating it the first time.
type caHolder struct {
	mu sync.Mutex
	ca *CA
}

// CA returns the node's agent CA, creating it (and storing it sealed) the
// first time; nil when the service has no secret box.
func (s *Service) CA(ctx context.Context) (*CA, error) {
	if s.opts.Box == nil {
		return nil, nil
	}
	h := &s.ca
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ca != nil {
		return h.ca, nil
	}
	ca, err := loadCA(ctx, s.st.Secrets(), s.opts.Box)
	if errors.Is(err, store.ErrNotFound) {
		var sealed []byte
		var both []byte
		if _, both, err = newCA(s.opts.Now()); err != nil {
			return nil, fmt.Errorf("fleet: agent CA: %w", err)
		}
		if sealed, err = s.opts.Box.Seal(both, caAAD()); err != nil {
			return nil, err
		}
		sec := store.Secret{ID: caSecretID, TenantID: "", Name: caSecretName, Kind: "other", Ciphertext: sealed}
		if c, ok := s.st.(store.SecretCreator); ok {
			// Insert if absent: of nodes creating it at once exactly one
			// stores its CA, and the others read that one back, so no
			// node ever issues certificates under a CA that is replaced.
			if err := c.CreateSecret(ctx, &sec); err != nil && !errors.Is(err, store.ErrConflict) {
				return nil, fmt.Errorf("fleet: store agent CA: %w", err)
			}
		} else if err := s.st.Secrets().Put(ctx, &sec); err != nil {
			return nil, fmt.Errorf("fleet: store agent CA: %w", err)
		}
		ca, err = loadCA(ctx, s.st.Secrets(), s.opts.Box)
	}
	if err != nil {
		return nil, err
	}
	h.ca = ca
	return ca, nil
}

func loadCA(ctx context.Context, st store.SecretStore, box *secret.Box) (*CA, error) {
	sec, err := st.Get(ctx, "", caSecretID)
	if err != nil {
		return nil, err
	}
	b, err := box.Open(sec.Ciphertext, caAAD())
	if err != nil {
		return nil, fmt.Errorf("fleet: open agent CA: %w", err)
	}
	return parseCA(b)
}

// ParseCSR reads and checks an agent's certificate request: one PEM
// block, at most MaxCSR bytes, a valid self-signature, an ECDSA P-256 or
// Ed25519 key.
func ParseCSR(b string) (*x509.CertificateRequest, error) {
	if len(b) > MaxCSR {
		return nil, fmt.Errorf("certificate request larger than %d bytes", MaxCSR)
	}
	blk, rest := pem.Decode([]byte(b))
	if blk == nil || blk.Type != "CERTIFICATE REQUEST" || len(strings.TrimSpace(string(rest))) > 0 {
		return nil, errors.New("certificate request: want one PEM CERTIFICATE REQUEST block")
	}
	csr, err := x509.ParseCertificateRequest(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("certificate request: %w", err)
	}
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("certificate request: %w", err)
	}
	switch k := csr.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, errors.New("certificate request: ECDSA keys must be P-256")
		}
	default:
		if csr.PublicKeyAlgorithm != x509.Ed25519 {
			return nil, errors.New("certificate request: the key must be ECDSA P-256 or Ed25519")
		}
	}
	return csr, nil
}

// Issue signs an agent's client certificate for the public key of csr:
// subject CN the agent ID, one URI SAN naming its tenant and agent
// (agent.CertIdentityURI), client authentication only. Whatever else the request
// asked for is ignored.
func (c *CA) Issue(csr *x509.CertificateRequest, tenantID, agentID string, now time.Time) ([]byte, error) {
	b, _, err := c.IssueFor(csr, tenantID, agentID, now, ClientCertValidity)
	return b, err
}

// IssueFor is Issue with the certificate's lifetime: valid from an hour
// before now (clock skew) until now+validity. It also returns the
// certificate parsed.
func (c *CA) IssueFor(csr *x509.CertificateRequest, tenantID, agentID string, now time.Time, validity time.Duration) ([]byte, *x509.Certificate, error) {
	u, err := url.Parse(agent.CertIdentityURI(tenantID, agentID))
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: randomSerial(),
		Subject:      pkix.Name{CommonName: agentID, Organization: []string{"Vigil host agent"}},
		URIs:         []*url.URL{u},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(validity),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, c.cert, csr.PublicKey, c.key)
	if err != nil {
		return nil, nil, fmt.Errorf("fleet: issue agent certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("fleet: issue agent certificate: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), cert, nil
}
