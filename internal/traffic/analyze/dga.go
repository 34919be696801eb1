package analyze

import (
	_ "embed"
	"errors"
	"math"
	"strings"
)

//go:embed words.txt
var wordList string

// dgaDomainThreshold is the character-statistics score from which a
// registered domain counts as DGA-like.
const dgaDomainThreshold = 0.6

// dgaModel scores how machine-generated a domain label looks. Its bigram
// table is generated when the Analyzer is built, from the embedded word
// list: log probabilities of letter pairs (with start and end markers,
// add-one smoothing), and the mean and spread of the per-word score that
// calibrate rarity.
type dgaModel struct {
	logp       [38][38]float64
	mean, sdev float64
}

// alphabet index: a-z 0-25, 0-9 26-35, '-' 36, boundary 37.
func charIndex(c byte) int {
	switch {
	case c >= 'a' && c <= 'z':
		return int(c - 'a')
	case c >= '0' && c <= '9':
		return 26 + int(c-'0')
	case c == '-':
		return 36
	}
	return -1
}

const boundary = 37

func newDGAModel() (*dgaModel, error) {
	var counts [38][38]float64
	var words []string
	for _, line := range strings.Split(wordList, "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		for _, w := range strings.Fields(line) {
			w = strings.ToLower(w)
			words = append(words, w)
			prev := boundary
			for i := 0; i < len(w); i++ {
				c := charIndex(w[i])
				if c < 0 {
					continue
				}
				counts[prev][c]++
				prev = c
			}
			counts[prev][boundary]++
		}
	}
	if len(words) < 100 {
		return nil, errors.New("analyze: DGA word list too short")
	}
	m := &dgaModel{}
	for i := range counts {
		total := 0.0
		for _, c := range counts[i] {
			total += c
		}
		for j := range counts[i] {
			m.logp[i][j] = math.Log((counts[i][j] + 1) / (total + 38))
		}
	}
	var sum, sq float64
	for _, w := range words {
		x := m.rarity(w)
		sum += x
		sq += x * x
	}
	n := float64(len(words))
	m.mean = sum / n
	m.sdev = math.Sqrt(math.Max(sq/n-m.mean*m.mean, 1e-6))
	return m, nil
}

// rarity is the mean negative log probability of a label's bigrams.
func (m *dgaModel) rarity(label string) float64 {
	prev := boundary
	var nll float64
	n := 0
	for i := 0; i < len(label); i++ {
		c := charIndex(label[i])
		if c < 0 {
			continue
		}
		nll -= m.logp[prev][c]
		prev = c
		n++
	}
	nll -= m.logp[prev][boundary]
	return nll / float64(n+1)
}

// score rates a registered domain (e.g. "xjw3kq9zpa.com") in [0,1]. Labels
// shorter than 8 characters score 0: too short to judge.
func (m *dgaModel) score(reg string) float64 {
	label, _, _ := strings.Cut(reg, ".")
	s, _ := m.explain(label)
	return s
}

func (m *dgaModel) explain(label string) (float64, []SubScore) {
	label = strings.ToLower(label)
	if len(label) < 8 || strings.HasPrefix(label, "xn--") {
		return 0, nil
	}
	rar := clamp01((m.rarity(label) - m.mean) / (3 * m.sdev))
	ent := clamp01((entropy(label) - 2.5) / 1.2)
	run, cur, digits := 0, 0, 0
	for i := 0; i < len(label); i++ {
		c := label[i]
		switch {
		case c >= '0' && c <= '9':
			digits++
			cur = 0
		case strings.IndexByte("bcdfghjklmnpqrstvwxz", c) >= 0:
			cur++
			run = max(run, cur)
		default:
			cur = 0
		}
	}
	cons := clamp01(float64(run-2) / 4)
	dig := 0.0
	if digits > 0 && digits < len(label) {
		dig = clamp01(float64(digits) / float64(len(label)) * 3)
	}
	score := 0.4*rar + 0.25*ent + 0.2*cons + 0.15*dig
	return score, []SubScore{{Name: "bigram rarity", Value: rar}, {Name: "entropy", Value: ent},
		{Name: "consonant run", Value: cons}, {Name: "digit ratio", Value: dig}}
}
