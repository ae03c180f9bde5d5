"""Import every feature's models so metadata (and Alembic) see the whole schema."""
from app.accounts.models import Agency, AgencyKind, ApiToken, PasswordReset, Role, Territory, User, UserSession  # noqa: F401
from app.admin.models import DirectoryImport, Invitation  # noqa: F401
from app.audit.models import AuditEvent  # noqa: F401
from app.barriers.models import (  # noqa: F401
    Barrier,
    BarrierCategory,
    BarrierStatus,
    DeclineReason,
    Referral,
    ReferralStatus,
)
from app.core.idempotency import FormSubmission  # noqa: F401
from app.exports.models import ExportFile, ExportJob, ExportStatus  # noqa: F401
from app.followup.models import Alert, AlertKind, AlertStatus, ScanState  # noqa: F401
from app.imports.models import ImportJob, ImportMapping, ImportRejection, ImportStatus  # noqa: F401
from app.meetings.models import Meeting, MeetingChannel, MeetingKind, MeetingStatus  # noqa: F401
from app.notifications.models import Notification, NotificationEvent, NotificationStatus  # noqa: F401
from app.pathways.models import (  # noqa: F401
    Beneficiary,
    ClosureReason,
    Consent,
    ConsentMethod,
    Contract,
    ContractKind,
    EmploymentContractType,
    Entry,
    EntryKind,
    EntryVersion,
    JoinRequestStatus,
    NoteType,
    Orientation,
    Pathway,
    PathwayMember,
    ReferentAssignment,
    Stage,
    TeamJoinRequest,
    Visibility,
)
