// Package store defines Vigil's persistent data model and the per-domain store
// interfaces that the sqlite and postgres drivers implement. Every tenant-owned
// row is read and written through a method that takes the tenant ID, so the
// tenant scope is enforced in one layer.
//
// Behaviour common to both drivers (the storetest suite checks it):
//   - A reference to a missing parent row (unknown tenant or user) is
//     ErrNotFound; a unique violation is ErrConflict.
//   - Deleting a tenant deletes what it owns (memberships, tokens, contacts,
//     subscriptions, assets, secrets); sessions lose it as their selection;
//     audit entries stay. Deleting a user deletes their memberships, team
//     memberships, sessions and the tokens they created. Deleting an asset
//     clears it from contacts.
//   - Usernames are unique and looked up case-insensitively.
//   - Audit List is newest first; Actor matches actor ID or name, Action is
//     exact, Since is inclusive and Until exclusive. Append fills a zero Time.
//   - SecretStore.Put with the ID of another tenant's secret is ErrConflict.
//   - Token and session lookups are by ID or hash, not by tenant: callers
//     check the tenant of what they get.
package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors returned by every driver; check them with errors.Is.
var (
	// ErrNotFound means no row matched (including a row of another tenant).
	ErrNotFound = errors.New("not found")
	// ErrConflict means a unique constraint was violated.
	ErrConflict = errors.New("conflict")
	// ErrSchemaTooNew means the database was migrated by a newer Vigil.
	ErrSchemaTooNew = errors.New("database schema is newer than this binary")
	// ErrUnsupported means the driver cannot do this operation.
	ErrUnsupported = errors.New("not supported by this store driver")
	// ErrInvalid wraps input validation failures; the wrapped message is
	// written for the user and safe to show.
	ErrInvalid = errors.New("invalid input")
)

// FieldError is a validation failure of one input field. It matches
// ErrInvalid with errors.Is and reads like the plain ErrInvalid errors
// ("invalid input: name is required"), so code that only needs the class
// of the error need not know about it; a surface that wants to show the
// error next to a field, or in another language, finds it with errors.As.
type FieldError struct {
	// Field is the input field as the forms and the API name it ("slug",
	// "address", "report_frequency"); "" when the error is about the
	// input as a whole.
	Field string
	// Code is a stable machine code of the failure, one of FieldCodes.
	Code string
	// Args are the values the message needs, by name: "min", "max",
	// "allowed" ([]string), "value" (what was given; never a secret).
	Args map[string]any
	// Message is the English explanation, written for the user.
	Message string
}

// NewFieldError returns a FieldError whose message is fmt.Sprintf(format, a...).
func NewFieldError(field, code string, args map[string]any, format string, a ...any) *FieldError {
	return &FieldError{Field: field, Code: code, Args: args, Message: fmt.Sprintf(format, a...)}
}

func (e *FieldError) Error() string { return ErrInvalid.Error() + ": " + e.Message }

// Unwrap makes a FieldError match ErrInvalid.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// Codes of FieldError. Surfaces translate them; they never change meaning.
const (
	CodeRequired         = "required"          // empty
	CodeTooShort         = "too_short"         // fewer than Args["min"] characters
	CodeTooLong          = "too_long"          // more than Args["max"] characters
	CodeTooLarge         = "too_large"         // more than Args["max"] bytes
	CodeTooMany          = "too_many"          // more than Args["max"] items
	CodeOneOf            = "one_of"            // not in Args["allowed"]
	CodeOutOfRange       = "out_of_range"      // a number outside Args["min"] to Args["max"]
	CodeInvalidUTF8      = "invalid_utf8"      // text that is not UTF-8
	CodeInvalidSlug      = "invalid_slug"      // not a URL slug
	CodeLooksLikeID      = "looks_like_id"     // a name that could be mistaken for an ID
	CodeInvalidUsername  = "invalid_username"  // characters a username may not hold
	CodeInvalidEmail     = "invalid_email"     // not an e-mail address
	CodeInvalidIP        = "invalid_ip"        // not an IP address or CIDR
	CodeInvalidDomain    = "invalid_domain"    // not a domain name
	CodeInvalidURL       = "invalid_url"       // not an http(s) URL
	CodeInvalidHostPort  = "invalid_hostport"  // not host:port
	CodeInvalidHost      = "invalid_host"      // not an IP address or host name
	CodeInvalidTag       = "invalid_tag"       // a tag too long or with other characters
	CodeInvalidAttribute = "invalid_attribute" // an attribute name or value out of bounds
	CodeInvalidDate      = "invalid_date"      // not a YYYY-MM-DD date
	CodeWeakPassword     = "weak_password"     // outside the password policy
	CodeWrongPassword    = "wrong_password"    // the current password does not match
	CodeEndBeforeStart   = "end_before_start"  // an end date before the start date
	CodeUnknownService   = "unknown_service"   // not a code of the service catalogue
	CodeNotInTenant      = "not_in_tenant"     // a reference to an object of no or another tenant
	CodeSelfChange       = "self_change"       // disabling oneself or changing one's own role
	CodeSelfDelete       = "self_delete"       // deleting oneself
	CodeInvalidConfig    = "invalid_config"    // a device configuration a parser refused; args: reason
	CodeInvalidTimeZone  = "invalid_time_zone" // not an IANA time zone name
)

// FieldCodes lists every FieldError code.
func FieldCodes() []string {
	return []string{CodeRequired, CodeTooShort, CodeTooLong, CodeTooLarge, CodeTooMany, CodeOneOf,
		CodeOutOfRange, CodeInvalidUTF8, CodeInvalidSlug, CodeLooksLikeID, CodeInvalidUsername,
		CodeInvalidEmail, CodeInvalidIP, CodeInvalidDomain, CodeInvalidURL, CodeInvalidHostPort,
		CodeInvalidHost, CodeInvalidTag, CodeInvalidAttribute, CodeInvalidDate, CodeWeakPassword,
		CodeWrongPassword, CodeEndBeforeStart, CodeUnknownService, CodeNotInTenant, CodeSelfChange,
		CodeSelfDelete, CodeInvalidConfig, CodeInvalidTimeZone}
}

// Store is the whole persistence layer. Each accessor returns the store of
// one domain; all of them share the same database.
type Store interface {
	Tenants() TenantStore
	Users() UserStore
	Tokens() TokenStore
	Sessions() SessionStore
	Teams() TeamStore
	Contacts() ContactStore
	Services() ServiceStore
	Assets() AssetStore
	Audit() AuditStore
	Secrets() SecretStore
	PolicyReviews() PolicyReviewStore
	Reports() ReportStore
	Vulns() VulnStore
	DiscoveryRuns() DiscoveryRunStore
	Events() EventStore
	Alerts() AlertStore
	NotifyChannels() NotifyChannelStore
	Weblog() WeblogStore
	Incidents() IncidentStore
	Posture() PostureStore
	Compliance() ComplianceStore
	Escalations() EscalationStore
	WorkOrders() WorkOrderStore
	Baseline() BaselineStore
	Devices() DeviceStore
	Traffic() TrafficStore
	Campaigns() CampaignStore
	Drills() DrillStore
	VulnSettings() VulnSettingsStore
	VulnScanRuns() VulnScanRunStore
	Desk() DeskStore
	Agents() AgentStore
	Attachments() AttachmentStore
	Advisories() AdvisoryStore
	Detection() DetectionStore
	BusinessSystems() BusinessSystemStore

	// Driver names the driver: "sqlite" or "postgres".
	Driver() string
	// Ping checks the database answers.
	Ping(ctx context.Context) error
	// Backup writes a consistent copy of the database to path while the
	// store is in use. Drivers that cannot return ErrUnsupported.
	Backup(ctx context.Context, path string) error
	Close() error
}

// Page bounds a list query. Limit 0 means the driver default (100); the
// drivers cap Limit at MaxPageSize.
type Page struct {
	Limit  int
	Offset int
}

// MaxPageSize is the largest page any list returns.
const MaxPageSize = 1000

// Tenant is an organisation the SOC serves.
type Tenant struct {
	ID          string
	Slug        string // short unique name used in URLs
	Name        string
	Description string
	Industry    string
	Disabled    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// TimeZone is an IANA zone name ("Asia/Shanghai"); "" means UTC.
	// The weekly digest's weeks follow it.
	TimeZone string
}

// TenantStore persists tenants.
type TenantStore interface {
	Create(ctx context.Context, t *Tenant) error
	Get(ctx context.Context, id string) (Tenant, error)
	GetBySlug(ctx context.Context, slug string) (Tenant, error)
	List(ctx context.Context) ([]Tenant, error)
	Update(ctx context.Context, t *Tenant) error
	Delete(ctx context.Context, id string) error
}

// User is a person who signs in to Vigil.
type User struct {
	ID                 string
	Username           string
	DisplayName        string
	Email              string
	PasswordHash       string
	Locale             string // "" means from Accept-Language
	GlobalRole         string // a role that applies to every tenant ("" for none)
	Disabled           bool
	MustChangePassword bool
	CreatedAt          time.Time
	UpdatedAt          time.Time
	LastLoginAt        time.Time // zero if never
}

// Membership gives a user a role in one tenant.
type Membership struct {
	UserID    string
	TenantID  string
	Role      string
	CreatedAt time.Time
}

// UserStore persists users and their tenant memberships.
type UserStore interface {
	Create(ctx context.Context, u *User) error
	Get(ctx context.Context, id string) (User, error)
	GetByUsername(ctx context.Context, username string) (User, error)
	List(ctx context.Context) ([]User, error)
	Count(ctx context.Context) (int, error)
	Update(ctx context.Context, u *User) error
	Delete(ctx context.Context, id string) error

	// SetMembership creates or replaces the user's role in a tenant.
	SetMembership(ctx context.Context, m Membership) error
	RemoveMembership(ctx context.Context, userID, tenantID string) error
	Memberships(ctx context.Context, userID string) ([]Membership, error)
	TenantMembers(ctx context.Context, tenantID string) ([]Membership, error)
}

// APIToken is a bearer token for the REST API, scoped to one tenant and one
// role. TenantID is empty only for a global token (GlobalRole admin or
// auditor). Only the SHA-256 of the secret is stored.
type APIToken struct {
	ID         string
	Name       string
	TenantID   string
	Role       string
	UserID     string // who created it
	Prefix     string // first characters of the secret, shown to identify it
	Hash       string // hex SHA-256 of the secret
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero means no expiry
	LastUsedAt time.Time
	Revoked    bool
}

// TokenStore persists API tokens.
type TokenStore interface {
	Create(ctx context.Context, t *APIToken) error
	Get(ctx context.Context, id string) (APIToken, error)
	GetByHash(ctx context.Context, hash string) (APIToken, error)
	// List returns the tokens of a tenant; tenantID "" lists global tokens.
	List(ctx context.Context, tenantID string) ([]APIToken, error)
	Revoke(ctx context.Context, id string) error
	Touch(ctx context.Context, id string, at time.Time) error
}

// Session is a signed-in browser. ID is the hex SHA-256 of the cookie value.
type Session struct {
	ID         string
	UserID     string
	TenantID   string // tenant currently selected in the UI ("" for none)
	CSRFToken  string
	CreatedAt  time.Time
	ExpiresAt  time.Time
	LastSeenAt time.Time
	IP         string
	UserAgent  string
}

// SessionStore persists browser sessions so any API node can serve them.
type SessionStore interface {
	Create(ctx context.Context, s *Session) error
	Get(ctx context.Context, id string) (Session, error)
	Update(ctx context.Context, s *Session) error
	Delete(ctx context.Context, id string) error
	DeleteForUser(ctx context.Context, userID string) error
	DeleteExpired(ctx context.Context, now time.Time) (int, error)
}

// Team is a group of the service provider's staff (monitoring desk,
// response team, red team...). Teams are not tenant-owned.
type Team struct {
	ID          string
	Name        string
	Kind        string
	Description string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// TeamMember is a user in a team.
type TeamMember struct {
	TeamID string
	UserID string
	Lead   bool
}

// TeamStore persists teams and members.
type TeamStore interface {
	Create(ctx context.Context, t *Team) error
	Get(ctx context.Context, id string) (Team, error)
	List(ctx context.Context) ([]Team, error)
	Update(ctx context.Context, t *Team) error
	Delete(ctx context.Context, id string) error
	SetMember(ctx context.Context, m TeamMember) error
	RemoveMember(ctx context.Context, teamID, userID string) error
	Members(ctx context.Context, teamID string) ([]TeamMember, error)
}

// Contact is a person to reach at a tenant or a vendor.
type Contact struct {
	ID        string
	TenantID  string
	Kind      string // see tenant.ContactKinds
	Name      string
	Org       string
	Title     string
	Phone     string
	Email     string
	IM        string // WeCom / DingTalk / Feishu handle
	AssetID   string // the application or device this contact answers for ("" for none)
	Product   string // vendor product line, for vendor support contacts
	Notes     string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// ContactFilter narrows a contact list.
type ContactFilter struct {
	Kind    string
	AssetID string
}

// ContactStore persists tenant contacts.
type ContactStore interface {
	Create(ctx context.Context, c *Contact) error
	Get(ctx context.Context, tenantID, id string) (Contact, error)
	List(ctx context.Context, tenantID string, f ContactFilter) ([]Contact, error)
	Update(ctx context.Context, c *Contact) error
	Delete(ctx context.Context, tenantID, id string) error
}

// Subscription is one contracted service of a tenant with its service levels.
type Subscription struct {
	TenantID        string
	Service         string // code from tenant.Catalogue
	Enabled         bool
	Level           string // e.g. "standard", "premium"
	ResponseMinutes int    // time to respond to an event
	NotifyMinutes   int    // time to notify the customer
	ReportFrequency string // daily, weekly, monthly, quarterly, yearly, per-engagement
	StartsOn        time.Time
	EndsOn          time.Time // zero means open-ended
	Notes           string
	UpdatedAt       time.Time
}

// ServiceStore persists the service catalogue subscriptions per tenant.
type ServiceStore interface {
	Put(ctx context.Context, s *Subscription) error // create or replace
	Get(ctx context.Context, tenantID, service string) (Subscription, error)
	List(ctx context.Context, tenantID string) ([]Subscription, error)
	Delete(ctx context.Context, tenantID, service string) error
}

// Asset is the shared anchor every service links to.
type Asset struct {
	ID          string
	TenantID    string
	Kind        string // host, ip, domain, url, service, device, application
	Name        string
	Address     string // IP, hostname, URL or CIDR, depending on Kind
	Owner       string
	Importance  int // 1 (low) .. 5 (critical)
	Tags        []string
	Description string
	Attributes  map[string]string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	LastSeenAt  time.Time // zero if never observed
}

// AssetFilter narrows an asset list.
type AssetFilter struct {
	Kind          string
	Tag           string
	Query         string // substring of name or address
	MinImportance int
	// MinEffective keeps assets whose effective importance (their own, or
	// the highest one their business systems imply) is at least this.
	MinEffective int
	Page
}

// AssetStore persists assets.
type AssetStore interface {
	Create(ctx context.Context, a *Asset) error
	Get(ctx context.Context, tenantID, id string) (Asset, error)
	List(ctx context.Context, tenantID string, f AssetFilter) ([]Asset, error)
	Count(ctx context.Context, tenantID string, f AssetFilter) (int, error)
	Update(ctx context.Context, a *Asset) error
	Delete(ctx context.Context, tenantID, id string) error
}

// AuditEntry is one link of the hash-chained audit log.
type AuditEntry struct {
	Seq       int64 // assigned by the store, 1-based, gapless
	Time      time.Time
	ActorID   string
	ActorName string
	TenantID  string // "" for platform-wide actions
	Action    string // e.g. "login", "tenant.create"
	Object    string // e.g. "asset:0193..."
	Detail    string // JSON
	IP        string
	PrevHash  string
	Hash      string
}

// AuditFilter narrows an audit list.
type AuditFilter struct {
	TenantID string // "" means every tenant (callers enforce who may ask)
	Actor    string
	Action   string
	Since    time.Time
	Until    time.Time
	Page
}

// ChainFunc computes an entry's hash from the previous entry's hash. The
// store calls it while holding the chain lock, after setting Seq and PrevHash.
type ChainFunc func(e *AuditEntry) string

// AuditStore persists the audit chain.
type AuditStore interface {
	// Append assigns Seq and PrevHash, calls chain to set Hash, and writes
	// the entry, serialised against every other writer on every node.
	Append(ctx context.Context, e *AuditEntry, chain ChainFunc) error
	List(ctx context.Context, f AuditFilter) ([]AuditEntry, error)
	// Walk calls fn for every entry in Seq order starting at fromSeq.
	Walk(ctx context.Context, fromSeq int64, fn func(AuditEntry) error) error
	// Head returns the last Seq assigned and its Hash, kept apart from
	// the entries so that cutting entries off the end is detected.
	Head(ctx context.Context) (seq int64, hash string, err error)
}

// Secret is an encrypted credential (SSH key, SMTP password, webhook secret).
type Secret struct {
	ID         string
	TenantID   string
	Name       string
	Kind       string
	Ciphertext []byte
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// SecretStore persists encrypted secrets.
type SecretStore interface {
	Put(ctx context.Context, s *Secret) error // create or replace by ID
	Get(ctx context.Context, tenantID, id string) (Secret, error)
	List(ctx context.Context, tenantID string) ([]Secret, error) // Ciphertext left empty
	Delete(ctx context.Context, tenantID, id string) error
}

// PolicyReview is one analysed firewall or ACL configuration of a tenant:
// the configuration as uploaded and the analysis computed from it.
type PolicyReview struct {
	ID           string
	TenantID     string
	AssetID      string // the device it came from ("" for none)
	Name         string
	Format       string // a policy parser format, e.g. "iptables-save"
	Family       int    // 4 or 6
	Config       []byte // the configuration as uploaded
	ConfigSHA256 string
	Result       []byte // the analysis as JSON
	Findings     int    // number of findings in Result
	Rules        int    // number of rules parsed
	Accepted     bool   // the proposal was accepted for the work plan
	AcceptedBy   string // user ID
	AcceptedAt   time.Time
	CreatedBy    string // user ID
	CreatedAt    time.Time
}

// PolicyReviewFilter narrows a policy review list.
type PolicyReviewFilter struct {
	AssetID string
	Page
}

// PolicyReviewStore persists policy reviews. List leaves Config and Result
// empty.
type PolicyReviewStore interface {
	Create(ctx context.Context, r *PolicyReview) error
	Get(ctx context.Context, tenantID, id string) (PolicyReview, error)
	List(ctx context.Context, tenantID string, f PolicyReviewFilter) ([]PolicyReview, error)
	Count(ctx context.Context, tenantID string, f PolicyReviewFilter) (int, error)
	// Accept marks the review's proposal accepted by a user.
	Accept(ctx context.Context, tenantID, id, userID string, at time.Time) error
	Delete(ctx context.Context, tenantID, id string) error
}

// Report is one generated deliverable, archived as rendered.
type Report struct {
	ID        string
	TenantID  string
	Service   string // catalogue key of the service it belongs to
	Kind      string // e.g. "policy-review"
	SourceID  string // the object it reports on
	Title     string
	Format    string // html, pdf, xlsx
	Lang      string
	Content   []byte
	SHA256    string
	Size      int64
	CreatedBy string // user ID
	CreatedAt time.Time
}

// ReportFilter narrows a report list.
type ReportFilter struct {
	Service  string
	SourceID string
	Page
}

// ReportStore archives generated reports. List leaves Content empty.
type ReportStore interface {
	Create(ctx context.Context, r *Report) error
	Get(ctx context.Context, tenantID, id string) (Report, error)
	List(ctx context.Context, tenantID string, f ReportFilter) ([]Report, error)
	Delete(ctx context.Context, tenantID, id string) error
}

// VulnFinding is one vulnerability of a tenant, tracked through its
// lifecycle. Fingerprint is unique per tenant: reimports update it.
type VulnFinding struct {
	ID          string
	TenantID    string
	Fingerprint string
	AssetID     string // the inventory asset it was matched to, or ""
	// AssetKey names what it was found on (IP, host, target or URL host):
	// a full rescan of a key marks that key's absent findings fixed.
	AssetKey       string
	Scanner        string
	RuleID         string
	Title          string
	Description    string
	Severity       string // critical, high, medium, low, info
	Layer          string // network, os, application, configuration
	Host           string
	IP             string
	Port           int
	Protocol       string
	URL            string
	Target         string
	Package        string
	Version        string
	CVEs           []string
	CWEs           []string
	References     []string
	CVSSVector     string
	CVSSScore      *float64
	CVSS4Vector    string
	CVSS4Score     *float64 // Vigil's CVSS v4.0 score of CVSS4Vector (CVSS-BTE), nil when none
	FixedIn        string
	Remediation    string
	Evidence       string
	KEV            bool
	EPSS           *float64
	Priority       float64
	PriorityReason string
	State          string
	StateNote      string
	StateBy        string // user ID
	StateAt        time.Time
	Assignee       string // user ID
	Control        string // the compensating control of a mitigated finding
	ExpiresAt      time.Time
	DueAt          time.Time
	FirstSeen      time.Time
	LastSeen       time.Time
	Occurrences    int
	ScanID         string // the last import that saw it
	UpdatedAt      time.Time
}

// VulnFilter narrows a finding list. States empty means every state.
type VulnFilter struct {
	States   []string
	Severity string
	KEV      bool
	// Overdue keeps findings in one of OpenStates past their due date at Now.
	Overdue    bool
	OpenStates []string
	Now        time.Time
	AssetID    string
	Scanner    string
	Query      string // substring of title, asset key, rule ID or CVE list
	// CountLimit, when positive, makes Count stop at that many (a total
	// shown as "N+" when it is reached).
	CountLimit int
	Page
}

// VulnScan is one import of scanner output.
type VulnScan struct {
	ID        string
	TenantID  string
	Scanner   string
	Format    string
	Filename  string
	SHA256    string
	Full      bool // a full rescan of the asset keys it covers
	Total     int
	Added     int
	Updated   int
	Reopened  int
	Absent    int // open findings of the covered keys it no longer saw
	CreatedBy string
	CreatedAt time.Time
}

// VulnImport is one import to apply.
type VulnImport struct {
	Scan     *VulnScan
	Findings []VulnFinding // with fingerprint, asset key, due date and priority set
	// ReopenStates are the states a finding seen again leaves for
	// "reopened"; AbsentStates those a full rescan's absent finding leaves
	// for AbsentTo.
	ReopenStates []string
	AbsentStates []string
	AbsentTo     string
	Initial      string // the state of a new finding
	Reopened     string
	At           time.Time
}

// VulnEvent is one entry of a finding's timeline.
type VulnEvent struct {
	ID        string
	TenantID  string
	FindingID string
	At        time.Time
	ActorID   string
	Kind      string // imported, seen, reopened, absent, state, assign
	From      string
	To        string
	Note      string
}

// VulnChange is a state change of one finding, applied only if the
// finding is still in From.
type VulnChange struct {
	From      string
	To        string
	Note      string
	ActorID   string
	At        time.Time
	Assignee  *string // nil leaves it
	Control   *string
	ExpiresAt *time.Time
}

// VulnStore persists the vulnerability lifecycle.
type VulnStore interface {
	// Import applies one scan in one transaction: new findings are added,
	// known ones updated (and reopened from ReopenStates), and for a full
	// scan the covered keys' findings it did not see move to AbsentTo. It
	// fills the scan's counters and stores it.
	Import(ctx context.Context, in VulnImport) error
	Get(ctx context.Context, tenantID, id string) (VulnFinding, error)
	List(ctx context.Context, tenantID string, f VulnFilter) ([]VulnFinding, error)
	Count(ctx context.Context, tenantID string, f VulnFilter) (int, error)
	// Change applies c and records the event; a finding no longer in
	// c.From gives ErrConflict.
	Change(ctx context.Context, tenantID, id string, c VulnChange) error
	Events(ctx context.Context, tenantID, findingID string) ([]VulnEvent, error)
	Scans(ctx context.Context, tenantID string, p Page) ([]VulnScan, error)
	// CountBy counts a tenant's findings by state and severity.
	CountBy(ctx context.Context, tenantID string) (map[[2]string]int, error)
}

// DiscoveryRun is one asset discovery scan of a tenant's address space.
type DiscoveryRun struct {
	ID         string
	TenantID   string
	Targets    string // as given
	Ports      string // port spec as given
	Status     string // pending, running, done, failed
	Error      string
	Result     []byte // the findings as JSON
	CreatedBy  string
	CreatedAt  time.Time
	FinishedAt time.Time
	// Options is what the run does besides scanning Targets (subdomain
	// enumeration), as JSON owned by internal/exposure; "" for none.
	Options string
}

// DiscoveryRunStore persists discovery runs. List leaves Result empty.
type DiscoveryRunStore interface {
	Create(ctx context.Context, r *DiscoveryRun) error
	Get(ctx context.Context, tenantID, id string) (DiscoveryRun, error)
	List(ctx context.Context, tenantID string, p Page) ([]DiscoveryRun, error)
	// Finish records the outcome of a run.
	Finish(ctx context.Context, tenantID, id, status, errText string, result []byte, at time.Time) error
	// Start moves a pending run to running; a run not pending gives
	// ErrConflict, so a redelivered job does not scan twice.
	Start(ctx context.Context, tenantID, id string) error
}

// Event is one normalised log record of a tenant.
type Event struct {
	ID        string // time-ordered, unique: a redelivered event is stored once
	TenantID  string
	Time      time.Time
	Received  time.Time
	Source    string
	Format    string
	Host      string
	SourceIP  string
	User      string
	Message   string
	Fields    map[string]any
	Original  string
	Truncated bool
}

// FieldTerm is field = value in an event search; Field is a dotted name of
// Event.Fields, or one of the columns host, source_ip, user, format,
// source.
type FieldTerm struct {
	Field string
	Value string
}

// EventQuery narrows an event search.
type EventQuery struct {
	Since, Until time.Time // zero: unbounded
	Terms        []FieldTerm
	Text         string // substring of the original record
	Page
}

// EventStore persists events.
type EventStore interface {
	// Append stores events; IDs already stored are skipped. It returns the
	// IDs that were new, so a redelivered batch raises nothing twice.
	Append(ctx context.Context, events []Event) ([]string, error)
	Search(ctx context.Context, tenantID string, q EventQuery) ([]Event, error)
	Count(ctx context.Context, tenantID string, q EventQuery) (int, error)
	Get(ctx context.Context, tenantID, id string) (Event, error)
	// Histogram counts matching events per bucket of width step from
	// q.Since; q.Since and q.Until must be set.
	Histogram(ctx context.Context, tenantID string, q EventQuery, step time.Duration) ([]int, error)
	// Sources lists who sent the tenant's events, longest silent first.
	Sources(ctx context.Context, tenantID string, p Page) ([]EventSource, error)
	// Hourly counts the events received in each hour from since (truncated
	// to the hour) up to until, from counters kept on Append.
	Hourly(ctx context.Context, tenantID string, since, until time.Time) ([]int, error)
}

// Alert is what detection raised: repeats of one rule on one host within
// the grouping window are one alert with a count.
type Alert struct {
	ID        string
	TenantID  string
	GroupKey  string // rule and host: repeats within the window join it
	RuleID    string
	RuleTitle string
	Level     string // informational, low, medium, high, critical
	Tags      []string
	Host      string
	AssetID   string
	EventIDs  []string // the first events, bounded
	Count     int
	Status    string // new, acknowledged, false-positive, escalated, closed
	Note      string
	FirstSeen time.Time
	LastSeen  time.Time
	UpdatedBy string
	UpdatedAt time.Time
}

// AlertFilter narrows an alert list.
type AlertFilter struct {
	Statuses []string
	Level    string
	RuleID   string
	Query    string // substring of the rule title or host
	// RulePrefix keeps alerts whose rule ID starts with it ("intel:").
	RulePrefix string
	// Since keeps alerts last seen at or after it; Until keeps alerts
	// first seen before it. Together: alerts active in [Since, Until).
	Since, Until time.Time
	Page
}

// AlertStore persists alerts.
type AlertStore interface {
	// Raise records a detection: when an alert of the same group key in
	// one of openStatuses was last seen within window it gains the event
	// (count+1), otherwise a new alert is created. It reports the alert and
	// whether it is new. Writers raising one group at once take turns; an
	// event ID the alert already holds is not counted again (a redelivered
	// event, a second node hunting the same window).
	Raise(ctx context.Context, a *Alert, window time.Duration, openStatuses []string, maxEvents int) (bool, error)
	Get(ctx context.Context, tenantID, id string) (Alert, error)
	List(ctx context.Context, tenantID string, f AlertFilter) ([]Alert, error)
	Count(ctx context.Context, tenantID string, f AlertFilter) (int, error)
	// SetStatus changes an alert's status; a missing alert is ErrNotFound.
	SetStatus(ctx context.Context, tenantID, id, status, note, userID string, at time.Time) error
}

// NotifyChannel is one way a tenant is told about alerts: a channel
// configuration (secrets kept apart, encrypted, under SecretID) and the
// lowest alert level it receives.
type NotifyChannel struct {
	ID        string
	TenantID  string
	Name      string
	Kind      string // email, wecom, dingtalk, feishu, webhook, sms
	Config    []byte // the channel configuration as JSON, without secrets
	SecretID  string // the encrypted secrets, or ""
	MinLevel  string
	Enabled   bool
	CreatedAt time.Time
}

// NotifyDelivery is one delivery attempt of a message over a channel.
type NotifyDelivery struct {
	ID        string
	TenantID  string
	ChannelID string
	MessageID string
	Subject   string
	Attempt   int
	Status    string // sent, retry, failed
	Error     string
	At        time.Time
}

// NotifyChannelStore persists notification channels and their deliveries.
type NotifyChannelStore interface {
	Create(ctx context.Context, c *NotifyChannel) error
	Get(ctx context.Context, tenantID, id string) (NotifyChannel, error)
	List(ctx context.Context, tenantID string) ([]NotifyChannel, error)
	Delete(ctx context.Context, tenantID, id string) error
	Record(ctx context.Context, d *NotifyDelivery) error
	Deliveries(ctx context.Context, tenantID string, p Page) ([]NotifyDelivery, error)
}

// WeblogRun is one analysis of a system's access logs.
type WeblogRun struct {
	ID          string
	TenantID    string
	AssetID     string // the application analysed
	Name        string
	Result      []byte // coverage and hits as JSON
	Hits        int
	Verdict     string // compromised, attacked-not-compromised, clean, or ""
	VerdictNote string
	VerdictBy   string
	VerdictAt   time.Time
	CreatedBy   string
	CreatedAt   time.Time
}

// WeblogMark is an analyst's judgement of one hit of a run.
type WeblogMark struct {
	Hit      int
	Mark     string // true-positive, false-positive
	Note     string
	MarkedBy string
	MarkedAt time.Time
}

// WeblogExclusion silences one rule or detector on a path of a system in
// later analyses.
type WeblogExclusion struct {
	ID         string
	TenantID   string
	AssetID    string
	Rule       string
	PathPrefix string
	Reason     string
	CreatedBy  string
	CreatedAt  time.Time
}

// WeblogStore persists compromise-detection runs. ListRuns leaves Result
// empty.
type WeblogStore interface {
	CreateRun(ctx context.Context, r *WeblogRun) error
	GetRun(ctx context.Context, tenantID, id string) (WeblogRun, error)
	ListRuns(ctx context.Context, tenantID string, p Page) ([]WeblogRun, error)
	SetVerdict(ctx context.Context, tenantID, id, verdict, note, userID string, at time.Time) error
	// Mark records (or replaces) the marks of hits of a run.
	Mark(ctx context.Context, tenantID, runID string, marks []WeblogMark) error
	Marks(ctx context.Context, tenantID, runID string) ([]WeblogMark, error)
	AddExclusion(ctx context.Context, e *WeblogExclusion) error
	Exclusions(ctx context.Context, tenantID, assetID string) ([]WeblogExclusion, error)
	// Claim takes the lease on analysing one system's collected logs
	// under name until expires, unless another holder's lease has not
	// expired by at; it reports whether this caller holds it now.
	Claim(ctx context.Context, tenantID, assetID, name string, at, expires time.Time) (bool, error)
	// Release gives a lease back, so the analysis can be tried again.
	Release(ctx context.Context, tenantID, assetID, name string) error
}
