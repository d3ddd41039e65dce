package store

import (
	"time"

	"gorm.io/datatypes"
)

// Roles a user can hold, from least to most privileged.
const (
	RoleAnalyst       = "analyst"
	RoleSeniorAnalyst = "senior_analyst"
	RoleAdmin         = "admin"
	// RoleAuditor reads everything an analyst reads, the audit trail too,
	// and exports; it changes nothing.
	RoleAuditor = "auditor"
)

// Tenant row: one customer organisation. (The scoped handle is Tenant; the
// row is TenantRow.)
type TenantRow struct {
	ID        string `gorm:"primaryKey"`
	Slug      string
	Name      string
	CreatedAt time.Time

	// TwoFactor says who must have a second factor: TwoFactorOptional,
	// TwoFactorAdmins or TwoFactorEveryone.
	TwoFactor string
}

// TableName maps TenantRow to the tenants table.
func (TenantRow) TableName() string { return "tenants" }

// Owned is embedded by every domain model: the tenant that owns the row. It is
// set from the scoped handle on create, never from input.
type Owned struct {
	TenantID string
}

func (o *Owned) setTenant(id string) { o.TenantID = id }

// User is a person who signs in to the browser workspace. PasswordHash is
// "" for an invited user who has not set a password yet.
type User struct {
	ID string `gorm:"primaryKey"`
	Owned
	Email        string
	Name         string
	Role         string
	PasswordHash string
	LastLoginAt  *time.Time
	CreatedAt    time.Time
	UpdatedAt    time.Time
	DeletedAt    *time.Time

	// DisabledAt is set while an admin has disabled the user.
	DisabledAt *time.Time
	// TOTPSecret is the active second factor's secret (base32), "" when none.
	TOTPSecret string `gorm:"column:totp_secret"`
	// TOTPPendingSecret waits for its first code before it becomes active.
	TOTPPendingSecret string     `gorm:"column:totp_pending_secret"`
	TOTPEnabledAt     *time.Time `gorm:"column:totp_enabled_at"`
	// TOTPLastStep is the time step of the last code accepted: no code is
	// accepted twice.
	TOTPLastStep int64 `gorm:"column:totp_last_step"`
}

// HasTOTP reports whether the user has an active second factor.
func (u *User) HasTOTP() bool { return u.TOTPSecret != "" }

// Invited reports whether the user has not set a password yet.
func (u *User) Invited() bool { return u.PasswordHash == "" }

// PasswordLink is a one-time set-password link (an invitation or a reset).
// Only the SHA-256 of its token is stored.
type PasswordLink struct {
	ID string `gorm:"primaryKey"`
	Owned
	UserID    string
	TokenHash string
	Purpose   string
	CreatedBy *string
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    *time.Time
}

// RecoveryCode is one single-use recovery code of a user's second factor,
// stored as SHA-256.
type RecoveryCode struct {
	ID string `gorm:"primaryKey"`
	Owned
	UserID    string
	CodeHash  string
	CreatedAt time.Time
	UsedAt    *time.Time
}

// APIKey authenticates a machine client of the JSON API. Only the SHA-256 of
// the secret is stored; Prefix is shown so people can tell keys apart.
type APIKey struct {
	ID string `gorm:"primaryKey"`
	Owned
	Name       string
	Prefix     string
	Hash       string
	Scopes     string
	CreatedBy  *string
	CreatedAt  time.Time
	LastUsedAt *time.Time
	RevokedAt  *time.Time
}

// ModelVersion is one registered model bundle and its lifecycle stage.
type ModelVersion struct {
	ID string `gorm:"primaryKey"`
	Owned
	Name        string
	Version     int
	Stage       string
	Bundle      []byte
	Metrics     datatypes.JSON
	Thresholds  datatypes.JSON
	FeatureSet  datatypes.JSON
	CreatedBy   *string
	CreatedAt   time.Time
	ActivatedAt *time.Time
	// SHA256 and SizeBytes describe the file as uploaded; FileName is its name.
	SHA256    string `gorm:"column:sha256"`
	SizeBytes int64
	FileName  string
	// CreatedByEmail and PromotedByEmail name who imported the version and
	// who last made it production or shadow (ActivatedAt says when).
	CreatedByEmail  string
	PromotedByEmail string
	// Revision rises with every change of stage or thresholds: replicas
	// compare it to notice either.
	Revision int
}

// ModelLoad is when a replica last loaded a revision of a live model version.
type ModelLoad struct {
	Owned
	ModelVersionID string `gorm:"primaryKey"`
	Replica        string `gorm:"primaryKey"`
	Revision       int
	LoadedAt       time.Time
}

// Transaction is one payment as received, with every PaySim field.
type Transaction struct {
	ID string `gorm:"primaryKey"`
	Owned
	ExternalID     string
	Step           int
	Type           string
	Amount         float64
	NameOrig       string
	OldBalanceOrg  float64
	NewBalanceOrig float64
	NameDest       string
	OldBalanceDest float64
	NewBalanceDest float64
	IsFraud        *bool
	ReceivedAt     time.Time
	// Label is the latest analyst decision, "" while undecided.
	Label string
	// Source is how the transaction arrived: SourceAPI, SourceUpload,
	// SourceReplay, SourceSeed or SourceWeb.
	Source string
	// SubmittedByKey is the API key that sent it, SubmittedByUser the
	// signed-in user; at most one is set.
	SubmittedByKey  *string
	SubmittedByUser *string
	// ReviewPriority is the transaction's place in the review queue (lower
	// first, see ReviewPriority); nil when it needs no review.
	ReviewPriority *float64
	// Score repeats its prediction's score, set when the pair is stored, so
	// that an account's profile is summed from an index (migration 0012).
	Score float64
	// UploadID is the upload that stored it (source upload), else nil.
	UploadID *string
	// Where the money moves (migration 0016): ISO 3166-1 alpha-2 countries
	// and ISO 3166-2 regions of the sender and the receiver, "" when unknown.
	OrigCountry string
	DestCountry string
	OrigRegion  string
	DestRegion  string
}

// Prediction is the frozen scoring result of one transaction.
type Prediction struct {
	ID string `gorm:"primaryKey"`
	Owned
	TransactionID  string
	ModelVersionID string
	Score          float64
	RawMargin      float64
	Band           string
	Threshold      float64
	Explanation    datatypes.JSON
	LatencyUS      int64 `gorm:"column:latency_us"`
	CreatedAt      time.Time
	// The shadow model's verdict on the same transaction (nil without one):
	// stored beside the prediction, never shown in the queue nor used.
	ShadowModelVersionID *string
	ShadowScore          *float64
	ShadowBand           *string
	ShadowLatencyUS      *int64 `gorm:"column:shadow_latency_us"`
}

// AnalystDecision is an analyst's verdict on a transaction.
type AnalystDecision struct {
	ID string `gorm:"primaryKey"`
	Owned
	TransactionID string
	UserID        string
	Decision      string
	Rationale     string
	CreatedAt     time.Time
}

// Case groups transactions and accounts under one investigation, with an
// owner, a due time from the tenant's SLA policy, notes and a timeline
// (migration 0013, docs/cases.md).
type Case struct {
	ID string `gorm:"primaryKey"`
	Owned
	// Number is the case's number in its tenant (1, 2, …), for people.
	Number      int64
	Title       string
	Description string
	Status      string
	Priority    string
	AssigneeID  *string
	CreatedBy   string
	OpenedAt    time.Time
	// DueAt is OpenedAt + the policy's time for the priority + every pause
	// that has ended (PausedSeconds). While PausedAt is set the clock
	// stands still: the time left is DueAt - PausedAt.
	DueAt         time.Time
	PausedAt      *time.Time
	PausedSeconds int64
	// SortDue is what the list sorts by: DueAt while the clock runs, the
	// far future (NoDue) while it stands still.
	SortDue          time.Time
	BreachRecordedAt *time.Time
	// TransactionCount is how many transactions are linked (kept with the
	// links, so that the list does not count them).
	TransactionCount int64
	Outcome          string
	Summary          string
	ClosedAt         *time.Time
	ClosedBy         *string
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// CaseTransaction links a transaction to a case.
type CaseTransaction struct {
	Owned
	CaseID        string `gorm:"primaryKey"`
	TransactionID string `gorm:"primaryKey"`
	AddedBy       *string
	AddedAt       time.Time
}

// CaseAccount links an account to a case.
type CaseAccount struct {
	Owned
	CaseID  string `gorm:"primaryKey"`
	Account string `gorm:"primaryKey"`
	AddedBy *string
	AddedAt time.Time
}

// CaseNote is a note written on a case.
type CaseNote struct {
	ID string `gorm:"primaryKey"`
	Owned
	CaseID    string
	UserID    string
	Body      string
	CreatedAt time.Time
}

// CaseEvent is one entry of a case's timeline: who changed what, from what
// to what. ActorID is nil for the system (an SLA breach).
type CaseEvent struct {
	ID string `gorm:"primaryKey"`
	Owned
	CaseID     string
	ActorID    *string
	ActorEmail string
	Kind       string
	OldValue   string
	NewValue   string
	CreatedAt  time.Time
}

// CaseSLAPolicy is a tenant's time to resolve a case of one priority.
type CaseSLAPolicy struct {
	Owned
	Priority       string `gorm:"primaryKey"`
	ResolveMinutes int
	UpdatedBy      *string
	UpdatedAt      time.Time
}

// WatchlistEntry marks an account as blocked or trusted.
type WatchlistEntry struct {
	ID string `gorm:"primaryKey"`
	Owned
	Account   string
	Kind      string
	Reason    string
	CreatedBy *string
	CreatedAt time.Time
	ExpiresAt *time.Time
}

// AccountGeo places an account on the map.
type AccountGeo struct {
	Owned
	Account string `gorm:"primaryKey"`
	Country string
	City    string
	Lat     float64
	Lon     float64
}

// TableName keeps the singular table name of DESIGN.md.
func (AccountGeo) TableName() string { return "account_geo" }

// DriftSnapshot is the population stability of one feature over a window.
type DriftSnapshot struct {
	ID string `gorm:"primaryKey"`
	Owned
	ModelVersionID string
	Feature        string
	PSI            float64 `gorm:"column:psi"`
	Bins           datatypes.JSON
	WindowStart    time.Time
	WindowEnd      time.Time
	CreatedAt      time.Time
}

// AuditEvent records who did what to which object, when and from where.
// TenantID is nil only before a tenant is known (a failed login for an
// unknown email).
type AuditEvent struct {
	ID         string `gorm:"primaryKey"`
	TenantID   *string
	ActorID    *string
	ActorEmail string
	Action     string
	ObjectType string
	ObjectID   string
	IP         string `gorm:"column:ip"`
	UserAgent  string
	Details    datatypes.JSON
	CreatedAt  time.Time
}

// TransactionRollup counts the transactions of one received day (UTC)
// that share every value the investigate page filters on (migration 0011):
// the statistics of a view are sums of rollups.
type TransactionRollup struct {
	Owned
	Day            string // YYYY-MM-DD
	Type           string
	Band           string // from the review priority, as the queue's band filters read it
	Review         int    // 1 when the transaction has a review priority
	Label          string
	Source         string
	ModelVersionID string
	ScoreBucket    int // index of the score's bucket (ScoreEdges)
	AmountBucket   int // index of the amount's bucket (AmountEdges)
	N              int64
	Amount         float64
	Score          float64 // sum of the scores
}

// tenantModels lists every model owned by a tenant; the isolation tests walk it.
func tenantModels() []any {
	return []any{
		&User{}, &APIKey{}, &ModelVersion{}, &Transaction{}, &Prediction{},
		&AnalystDecision{}, &Case{}, &CaseTransaction{}, &CaseAccount{}, &CaseNote{}, &CaseEvent{}, &CaseSLAPolicy{},
		&WatchlistEntry{}, &AccountGeo{}, &DriftSnapshot{}, &AuditEvent{},
		&PasswordLink{}, &RecoveryCode{}, &ModelLoad{}, &TransactionRollup{}, &HourlyRollup{}, &PlaceRollup{}, &ReplayRun{},
		&Upload{}, &UploadChunk{}, &UploadError{},
		&JobLease{}, &DriftBaseline{}, &CostModelRow{}, &AlertRule{}, &Alert{}, &WebhookDelivery{},
	}
}
