"""French labels of every domain enum, for the interface (code stays in English).

One dict per enum, keyed by the enum member. `label(value)` finds the label of any member (or of
its code value, when the enum class is given). A test checks that every member has a label.
"""
from __future__ import annotations

import enum
from typing import Any

from app.models import (
    AgencyKind,
    AlertKind,
    AlertStatus,
    BarrierCategory,
    BarrierStatus,
    ClosureReason,
    ConsentMethod,
    ContractKind,
    DeclineReason,
    EmploymentContractType,
    EntryKind,
    JoinRequestStatus,
    MeetingChannel,
    MeetingKind,
    MeetingStatus,
    Orientation,
    ReferralStatus,
    Role,
    Stage,
    Visibility,
)

AGENCY_KIND = {
    AgencyKind.DEPARTMENTAL_COUNCIL: "Conseil départemental",
    AgencyKind.FRANCE_TRAVAIL: "France Travail",
    AgencyKind.CAF: "CAF",
    AgencyKind.MISSION_LOCALE: "Mission locale",
    AgencyKind.CCAS: "CCAS",
    AgencyKind.CAP_EMPLOI: "Cap emploi",
    AgencyKind.ASSOCIATION: "Association",
}

ROLE = {
    Role.PROFESSIONAL: "Professionnel·le",
    Role.MANAGER: "Responsable",
    Role.ADMIN: "Administrateur·rice",
}

STAGE = {
    Stage.INTAKE: "Accueil",
    Stage.DIAGNOSIS: "Diagnostic",
    Stage.SUPPORT: "Accompagnement",
    Stage.EMPLOYED: "Suivi dans l'emploi",
    Stage.CLOSED: "Clôturé",
}

ORIENTATION = {
    Orientation.PROFESSIONAL: "Professionnelle",
    Orientation.SOCIO_PROFESSIONAL: "Socio-professionnelle",
    Orientation.SOCIAL: "Sociale",
}

CLOSURE_REASON = {
    ClosureReason.EMPLOYMENT_SUSTAINED: "Emploi durable (suivi dans l'emploi terminé)",
    ClosureReason.TRAINING: "Entrée en formation qualifiante",
    ClosureReason.MOVED_AWAY: "Déménagement hors du département",
    ClosureReason.RIGHTS_ENDED: "Fin de droits",
    ClosureReason.NO_CONTACT: "Perte de contact",
    ClosureReason.PERSON_REQUEST: "À la demande de la personne",
    ClosureReason.DECEASED: "Décès",
    ClosureReason.OTHER: "Autre motif",
}

EMPLOYMENT_CONTRACT_TYPE = {
    EmploymentContractType.CDI: "CDI",
    EmploymentContractType.CDD: "CDD",
    EmploymentContractType.INTERIM: "Intérim",
    EmploymentContractType.IAE: "Insertion par l'activité économique (IAE)",
    EmploymentContractType.APPRENTICESHIP: "Apprentissage ou alternance",
    EmploymentContractType.SELF_EMPLOYED: "Création d'activité ou indépendant",
    EmploymentContractType.OTHER: "Autre contrat",
}

CONTRACT_KIND = {
    ContractKind.CER: "Contrat d'engagement réciproque (CER)",
    ContractKind.PPAE: "Projet personnalisé d'accès à l'emploi (PPAE)",
    ContractKind.CEJ: "Contrat d'engagement jeune (CEJ)",
    ContractKind.PACEA: "Parcours contractualisé d'accompagnement vers l'emploi et l'autonomie (PACEA)",
}

CONSENT_METHOD = {
    ConsentMethod.WRITTEN: "Consentement écrit",
    ConsentMethod.ORAL: "Consentement oral",
}

VISIBILITY = {
    Visibility.TEAM: "Équipe de suivi",
    Visibility.AGENCY: "Ma structure",
    Visibility.REFERENT: "Référent uniquement",
}

ENTRY_KIND = {
    EntryKind.NOTE: "Note",
    EntryKind.REORIENTATION: "Réorientation",
    EntryKind.EVENT: "Événement",
}

MEETING_STATUS = {
    MeetingStatus.PLANNED: "Prévu",
    MeetingStatus.HELD: "Réalisé",
    MeetingStatus.MISSED: "Absent·e",
    MeetingStatus.CANCELLED: "Annulé",
}

MEETING_CHANNEL = {
    MeetingChannel.IN_PERSON: "En présentiel",
    MeetingChannel.PHONE: "Par téléphone",
    MeetingChannel.VIDEO: "En visioconférence",
}

MEETING_KIND = {
    MeetingKind.FOLLOW_UP: "Entretien de suivi",
    MeetingKind.CHECKIN: "Point de suivi dans l'emploi",
}

BARRIER_CATEGORY = {
    BarrierCategory.HOUSING: "Logement",
    BarrierCategory.MOBILITY: "Mobilité",
    BarrierCategory.HEALTH: "Santé",
    BarrierCategory.FAMILY: "Contraintes familiales",
    BarrierCategory.LANGUAGE: "Maîtrise du français",
    BarrierCategory.DIGITAL: "Numérique",
    BarrierCategory.ADMINISTRATIVE: "Difficultés administratives",
    BarrierCategory.FINANCIAL: "Difficultés financières",
    BarrierCategory.TRAINING: "Formation",
    BarrierCategory.EMPLOYMENT: "Emploi",
    BarrierCategory.JUSTICE: "Justice",
    BarrierCategory.OTHER: "Autre",
}

BARRIER_STATUS = {
    BarrierStatus.OPEN: "À traiter",
    BarrierStatus.IN_PROGRESS: "En cours",
    BarrierStatus.LIFTED: "Levé",
    BarrierStatus.ABANDONED: "Abandonné",
}

REFERRAL_STATUS = {
    ReferralStatus.SENT: "Envoyée",
    ReferralStatus.ACCEPTED: "Acceptée",
    ReferralStatus.DECLINED: "Refusée",
    ReferralStatus.DONE: "Réalisée",
}

JOIN_REQUEST_STATUS = {
    JoinRequestStatus.PENDING: "En attente",
    JoinRequestStatus.ACCEPTED: "Acceptée",
    JoinRequestStatus.REFUSED: "Refusée",
}

DECLINE_REASON = {
    DeclineReason.NOT_IN_SCOPE: "Hors de notre champ d'intervention",
    DeclineReason.NO_CAPACITY: "Pas de place ou délai trop long",
    DeclineReason.ALREADY_FOLLOWED: "Déjà accompagné·e par ailleurs",
    DeclineReason.CONDITIONS_NOT_MET: "Conditions d'accès non remplies",
    DeclineReason.PERSON_UNREACHABLE: "Personne injoignable",
    DeclineReason.OTHER: "Autre motif",
}

ALERT_KIND = {
    AlertKind.FOLLOW_UP_OVERDUE: "Suivi en retard",
    AlertKind.MEETING_UNRECORDED: "Rendez-vous non renseigné",
    AlertKind.MISSED_NOT_RESCHEDULED: "Absence non replanifiée",
    AlertKind.BARRIER_OVERDUE: "Frein en retard",
    AlertKind.NO_REFERENT: "Sans référent",
    AlertKind.ORIENTATION_LATE: "Orientation en retard",
    AlertKind.CONTRACT_LATE: "Contrat en retard",
    AlertKind.CONTRACT_ENDING: "Contrat arrivant à échéance",
    AlertKind.REFERRAL_UNANSWERED: "Orientation de frein sans réponse",
    AlertKind.CHECKIN_OVERDUE: "Point de suivi dans l'emploi en retard",
    AlertKind.CLOSURE_PROPOSED: "Clôture proposée",
}

ALERT_STATUS = {
    AlertStatus.OPEN: "Ouverte",
    AlertStatus.ACKNOWLEDGED: "Prise en compte",
    AlertStatus.RESOLVED: "Résolue",
}

LABELS: dict[type[enum.Enum], dict[Any, str]] = {
    AgencyKind: AGENCY_KIND,
    Role: ROLE,
    Stage: STAGE,
    Orientation: ORIENTATION,
    ClosureReason: CLOSURE_REASON,
    EmploymentContractType: EMPLOYMENT_CONTRACT_TYPE,
    ContractKind: CONTRACT_KIND,
    ConsentMethod: CONSENT_METHOD,
    Visibility: VISIBILITY,
    EntryKind: ENTRY_KIND,
    MeetingStatus: MEETING_STATUS,
    MeetingChannel: MEETING_CHANNEL,
    MeetingKind: MEETING_KIND,
    BarrierCategory: BARRIER_CATEGORY,
    BarrierStatus: BARRIER_STATUS,
    ReferralStatus: REFERRAL_STATUS,
    JoinRequestStatus: JOIN_REQUEST_STATUS,
    DeclineReason: DECLINE_REASON,
    AlertKind: ALERT_KIND,
    AlertStatus: ALERT_STATUS,
}


def label(value: Any, enum_cls: type[enum.Enum] | None = None) -> str:
    """The French label of an enum member; with `enum_cls`, of a code value ("housing").

    Unknown values fall back to their code rather than failing a page; None gives "".
    """
    if value is None:
        return ""
    if enum_cls is not None and not isinstance(value, enum_cls):
        try:
            value = enum_cls(value)
        except ValueError:
            return str(value)
    labels = LABELS.get(type(value))
    if labels is None:
        return str(value)
    return labels.get(value, str(value))


def choices(enum_cls: type[enum.Enum]) -> list[tuple[str, str]]:
    """(code, French label) pairs, in declaration order, for select and radio macros."""
    return [(member.value, LABELS[enum_cls][member]) for member in enum_cls]
