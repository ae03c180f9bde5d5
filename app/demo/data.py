"""Fixed French content of the demo territory: agencies, named accounts, places and wordings.

Every text is fictional and factual in tone (the person may read their record: DESIGN §3.9).
"""
from __future__ import annotations

DEMO_TERRITORY_CODE = "99"
DEMO_TERRITORY_NAME = "Département de démonstration (99)"
NEIGHBOUR_TERRITORY_CODE = "98"
NEIGHBOUR_TERRITORY_NAME = "Territoire voisin (98)"
DEMO_TERRITORY_CODES = (DEMO_TERRITORY_CODE, NEIGHBOUR_TERRITORY_CODE)

DEMO_PASSWORD = "parcours-demo"
DEMO_EMAIL_DOMAIN = "demo.parcours.fr"

# kind → (name, email, phone). One agency of each AgencyKind.
DEMO_AGENCIES: dict[str, tuple[str, str, str]] = {
    "departmental_council": (
        "Conseil départemental de démonstration",
        "insertion@cd99.demo.parcours.fr",
        "01 99 00 10 00",
    ),
    "france_travail": (
        "France Travail — Agence de Démoville",
        "agence.demoville@francetravail.demo.parcours.fr",
        "39 49",
    ),
    "caf": ("CAF de démonstration", "partenaires@caf99.demo.parcours.fr", "01 99 00 20 00"),
    "mission_locale": (
        "Mission locale du Val de Démo",
        "contact@ml-valdedemo.demo.parcours.fr",
        "01 99 00 30 00",
    ),
    "ccas": ("CCAS de Démoville", "ccas@demoville.demo.parcours.fr", "01 99 00 40 00"),
    "cap_emploi": ("Cap emploi 99", "contact@capemploi99.demo.parcours.fr", "01 99 00 50 00"),
    "association": (
        "Association Tremplin",
        "accueil@tremplin.demo.parcours.fr",
        "01 99 00 60 00",
    ),
}

NEIGHBOUR_AGENCY = (
    "Conseil départemental du Territoire voisin",
    "insertion@cd98.demo.parcours.fr",
    "01 98 00 10 00",
    "departmental_council",
)

# (email, first name, last name, role, agency kind, job title). The README lists these accounts.
NAMED_ACCOUNTS: list[tuple[str, str, str, str, str, str]] = [
    ("referente.cd@demo.parcours.fr", "Claire", "Martin", "professional", "departmental_council",
     "Référente RSA"),
    ("referent.ft@demo.parcours.fr", "Karim", "Benali", "professional", "france_travail",
     "Conseiller à l'emploi"),
    ("conseillere.ml@demo.parcours.fr", "Julie", "Lefèvre", "professional", "mission_locale",
     "Conseillère en insertion"),
    ("partenaire.caf@demo.parcours.fr", "Sophie", "Bernard", "professional", "caf",
     "Travailleuse sociale CAF"),
    ("partenaire.ccas@demo.parcours.fr", "Thomas", "Petit", "professional", "ccas",
     "Travailleur social"),
    ("partenaire.asso@demo.parcours.fr", "Nadia", "Haddad", "professional", "association",
     "Chargée d'accompagnement"),
    ("responsable.cd@demo.parcours.fr", "Isabelle", "Moreau", "manager", "departmental_council",
     "Responsable du service insertion"),
    ("responsable.ft@demo.parcours.fr", "Laurent", "Girard", "manager", "france_travail",
     "Directeur d'agence"),
    ("admin@demo.parcours.fr", "Camille", "Roux", "admin", "departmental_council",
     "Administratrice du territoire"),
]
NEIGHBOUR_ACCOUNT = (
    "referent.voisin@demo.parcours.fr", "Lucas", "Fontaine", "professional", "departmental_council",
    "Référent RSA",
)

JOB_TITLES_BY_KIND = {
    "departmental_council": [
        "Référent RSA", "Référente RSA", "Travailleur social", "Conseillère en insertion",
    ],
    "france_travail": ["Conseiller à l'emploi", "Conseillère à l'emploi", "Conseiller accompagnement global"],
    "caf": ["Travailleuse sociale CAF", "Conseiller CAF"],
    "mission_locale": ["Conseiller en insertion", "Conseillère en insertion", "Conseiller CEJ"],
    "ccas": ["Travailleur social", "Assistante sociale", "Conseillère en économie sociale et familiale"],
    "cap_emploi": ["Chargé d'accompagnement", "Chargée de mission maintien dans l'emploi"],
    "association": ["Chargée d'accompagnement", "Accompagnateur socioprofessionnel"],
}

# Fictional communes: (postal code, city).
DEMO_CITIES = [
    ("99000", "Démoville"),
    ("99000", "Démoville"),
    ("99000", "Démoville"),
    ("99100", "Val-de-Démo"),
    ("99100", "Val-de-Démo"),
    ("99110", "Saint-Exemple"),
    ("99120", "Fictif-sur-Loire"),
    ("99130", "Bourg-Essai"),
    ("99140", "Les Maquettes"),
    ("99150", "Montprototype"),
    ("99160", "Villeneuve-la-Démo"),
]
NEIGHBOUR_CITIES = [("98100", "Voisinville"), ("98110", "Bourg-Voisin"), ("98120", "Frontière-les-Bains")]

EMAIL_DOMAINS = ["example.org", "example.net", "example.com"]

JOBS = [
    "Agent d'entretien", "Aide à domicile", "Préparateur de commandes", "Employée libre-service",
    "Cariste", "Aide-soignante", "Agent de restauration", "Vendeuse", "Manutentionnaire",
    "Agent de sécurité", "Chauffeur livreur", "Ouvrier du bâtiment", "Serveur", "Hôte de caisse",
    "Assistante administrative", "Agent polyvalent", "Jardinier paysagiste", "Commis de cuisine",
    "Auxiliaire de puériculture", "Technicien de maintenance",
]
EMPLOYER_PATTERNS = [
    "Boulangerie {n}", "Transports {n}", "SARL {n} et fils", "Entreprise {n} Bâtiment",
    "Supermarché {c}", "Clinique de {c}", "EHPAD Les Tilleuls de {c}", "Logistique {c}",
    "Restaurant Chez {n}", "Ateliers {n}", "Nettoyage {n} Services", "Mairie de {c}",
    "Chantier d'insertion Tremplin Vert", "Jardins de {c}",
]

CLOSURE_NOTES = {
    "employment_sustained": "Emploi durable confirmé au dernier point de suivi. Fin du suivi dans l'emploi.",
    "training": "Entrée en formation qualifiante ; le suivi est assuré par l'organisme de formation.",
    "moved_away": "Déménagement hors du département ; dossier transmis au nouveau département.",
    "rights_ended": "Fin des droits au RSA suite à l'évolution des ressources du foyer.",
    "no_contact": "Sans nouvelles malgré trois courriers et deux appels ; clôture pour perte de contact.",
    "person_request": "Clôture à la demande de la personne, qui ne souhaite plus être accompagnée.",
    "deceased": "Clôture administrative.",
    "other": "Clôture après réexamen de la situation en équipe pluridisciplinaire.",
}

BARRIER_TITLES = {
    "housing": ["Recherche d'un logement autonome", "Dossier de demande de logement social à déposer",
                "Risque d'expulsion : dette de loyer", "Hébergement chez un tiers à sécuriser"],
    "mobility": ["Permis de conduire à financer", "Pas de moyen de transport pour les horaires décalés",
                 "Demande d'aide à la mobilité", "Réparation du véhicule"],
    "health": ["Suivi médical à mettre en place", "Démarche de reconnaissance RQTH",
               "Accès à une complémentaire santé solidaire", "Rendez-vous médecin du travail"],
    "family": ["Solution de garde pour l'enfant de moins de 3 ans", "Place en crèche à trouver",
               "Organisation de l'aide à un parent dépendant"],
    "language": ["Cours de français langue étrangère (FLE)", "Atelier sociolinguistique à intégrer"],
    "digital": ["Création de l'espace personnel France Travail", "Atelier d'initiation au numérique",
                "Accès à un ordinateur pour les démarches"],
    "administrative": ["Renouvellement du titre de séjour", "Ouverture des droits à la CSS",
                       "Déclaration trimestrielle RSA à régulariser", "Carte d'identité à refaire"],
    "financial": ["Dossier de surendettement à constituer", "Mise en place d'un budget mensuel",
                  "Demande d'aide financière d'urgence", "Indus CAF à échelonner"],
    "training": ["Formation qualifiante à identifier", "Remise à niveau en mathématiques",
                 "Inscription à une formation CACES", "Validation des acquis de l'expérience"],
    "employment": ["Projet professionnel à construire", "CV et lettre de motivation à mettre à jour",
                   "Immersion professionnelle (PMSMP) à organiser", "Candidatures dans la logistique"],
    "justice": [
        "Suivi SPIP à articuler avec l'accompagnement", "Aménagement de peine : obligation de travail",
    ],
    "other": ["Démarches après une séparation", "Ouverture d'un compte bancaire"],
}
BARRIER_DESCRIPTIONS = [
    "Identifié lors de l'entretien de diagnostic.",
    "La personne en a parlé spontanément ; à travailler en priorité.",
    "Point abordé avec l'équipe de suivi.",
    "Démarche engagée, pièces justificatives à réunir.",
    None,
    None,
]
# Partner agency kinds best placed for each category (referrals).
PARTNERS_BY_CATEGORY = {
    "housing": ["ccas", "caf", "association"],
    "mobility": ["association", "france_travail"],
    "health": ["cap_emploi", "ccas"],
    "family": ["caf", "ccas"],
    "language": ["association"],
    "digital": ["association", "ccas"],
    "administrative": ["ccas", "caf"],
    "financial": ["caf", "ccas"],
    "training": ["france_travail", "mission_locale"],
    "employment": ["france_travail", "cap_emploi", "association"],
    "justice": ["association"],
    "other": ["ccas", "association"],
}
REFERRAL_MESSAGES = [
    "Pouvez-vous recevoir la personne pour étudier sa situation ? Elle est d'accord pour ce contact.",
    "Orientation vers votre service pour un accompagnement sur ce point.",
    "Demande d'instruction d'une aide ; la personne a donné son accord pour le partage.",
    "Merci de nous indiquer si une prise en charge est possible dans le mois.",
]
ACCEPT_COMMENTS = [
    "Rendez-vous fixé avec la personne.",
    "Prise en charge acceptée, premier rendez-vous dans quinze jours.",
    "Dossier reçu, nous prenons le relais sur ce point.",
]
DONE_COMMENTS = [
    "Démarche aboutie, aide accordée.",
    "Accompagnement terminé sur ce point.",
    "Dossier déposé et accepté.",
]
DECLINE_COMMENTS = {
    "not_in_scope": "Cette demande ne relève pas de notre service.",
    "no_capacity": "Pas de place disponible avant trois mois.",
    "already_followed": "La personne est déjà accompagnée par un autre service sur ce point.",
    "conditions_not_met": "Les conditions d'accès au dispositif ne sont pas remplies.",
    "person_unreachable": "Personne injoignable malgré plusieurs appels.",
    "other": "Demande à reformuler après échange avec la référente.",
}

MEETING_NOTES = [
    "Point sur les démarches engagées depuis le dernier rendez-vous. "
    "Les candidatures prévues ont été envoyées.",
    "Entretien de diagnostic : situation familiale, logement et mobilité abordés.",
    "La personne a apporté les justificatifs demandés. Dossier complété.",
    "Échange sur le projet professionnel ; intérêt confirmé pour le secteur de l'aide à la personne.",
    "Bilan de l'immersion en entreprise : retour positif du tuteur.",
    "Mise à jour du CV réalisée ensemble. Trois offres repérées.",
    "La personne indique avoir trouvé une solution de garde à partir du mois prochain.",
    "Point budget réalisé ; un dossier d'aide financière sera déposé.",
    "Inscription à l'atelier numérique confirmée.",
    "Préparation de l'entretien d'embauche prévu la semaine prochaine.",
    "Signature du contrat d'engagement ; objectifs fixés pour les trois prochains mois.",
    "La personne a commencé la formation ; assiduité confirmée par l'organisme.",
]
CHECKIN_NOTES = [
    "Point de suivi dans l'emploi : la personne est satisfaite de son poste.",
    "Suivi dans l'emploi : horaires compatibles avec la garde des enfants, pas de difficulté signalée.",
    "Point avec la personne et l'employeur : période d'essai validée.",
    "Suivi dans l'emploi : contrat prolongé de six mois.",
]
MISSED_NOTES = ["Absente, sans prévenir.", "Absent ; message laissé sur le répondeur.", None]
CANCEL_REASONS = [
    "Annulé à la demande de la personne (rendez-vous médical).",
    "Annulé : absence de la référente.",
    "Reporté à la demande de la personne (entretien d'embauche).",
]
LOCATIONS_BY_KIND = {
    "departmental_council": "Maison départementale des solidarités, Démoville",
    "france_travail": "France Travail, 12 avenue de la République, Démoville",
    "caf": "CAF, accueil de Démoville",
    "mission_locale": "Mission locale, antenne du Val de Démo",
    "ccas": "CCAS, Hôtel de ville de Démoville",
    "cap_emploi": "Cap emploi 99, Démoville",
    "association": "Association Tremplin, 3 rue des Artisans, Démoville",
}

ENTRY_NOTES = [
    "Appel de la personne : elle confirme sa présence au prochain rendez-vous.",
    "Courrier de convocation envoyé.",
    "La personne a transmis son attestation de formation.",
    "Échange téléphonique avec le partenaire au sujet du dossier logement.",
    "Synthèse partagée avec l'équipe : démarches en cours sur la mobilité et l'emploi.",
    "Dossier d'aide financière transmis à la commission.",
    "Attestation de droits CAF mise à jour.",
    "Information collective sur les métiers de la logistique : présente.",
    "La personne signale un changement d'adresse.",
    "Relance par SMS pour le justificatif de domicile.",
]
PRIVATE_NOTES = [
    "Situation familiale difficile évoquée ; orientation proposée vers une écoute psychologique.",
    "Éléments de santé évoqués en entretien, non partagés avec les partenaires.",
    "La personne souhaite que sa situation de dette reste confidentielle.",
]
ORIENTATION_EVENTS = {
    "professional": "Orientation décidée : accompagnement professionnel.",
    "socio_professional": "Orientation décidée : accompagnement socioprofessionnel.",
    "social": "Orientation décidée : accompagnement social.",
}
INTAKE_EVENTS = [
    "Demande d'accompagnement reçue (ouverture de droits RSA).",
    "Premier accueil réalisé ; dossier ouvert.",
    "Inscription transmise par la CAF ; premier contact à organiser.",
]
HANDOVER_NOTES = [
    "Passage de relais : démarches logement en cours, dossier CAF à suivre. "
    "La personne est informée du changement de référent.",
    "Changement de référent suite à réorganisation du portefeuille. Prochain rendez-vous à fixer rapidement.",
    "Réorientation vers un accompagnement professionnel ; projet défini, CV à jour.",
    "Départ de la référente ; synthèse partagée avec le nouveau référent lors d'un entretien tripartite.",
]
EMPLOYMENT_EVENTS = "Reprise d'emploi enregistrée ; suivi dans l'emploi à +1, +3 et +6 mois."
