"""The condition table and the finding vocabulary of ``turngym/ClinicalDialogue-v0``.

RESEARCH SIMULATION ONLY, NOT MEDICAL ADVICE. The numbers are rough, hand-written
approximations in the spirit of textbook symptom tables (how often a finding is present in a
condition), good enough to make an interview game whose naive-Bayes posterior behaves
plausibly. They are not calibrated against any clinical data set and must never be used to
diagnose or treat anyone.

A :class:`Finding` is anything the doctor can learn: a symptom, a piece of history, a risk
factor, an examination sign or a test result. Each has lay phrasings (what the simulated
patient says when it is present or absent) and synonyms: trigger phrases that the rule-based
patient looks for in the doctor's question. A :class:`Condition` lists, for the findings
typical of it, the rough probability that a patient with it has the finding; every other
finding is present with a small "leak" probability (see :mod:`turngym.envs.clinical.bayes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = [
    "CONDITIONS",
    "FINDINGS",
    "FINDING_KINDS",
    "Condition",
    "ConditionTable",
    "Finding",
    "default_table",
]

FINDING_KINDS = ("symptom", "history", "risk_factor", "exam", "test")
ONSETS = ("hours", "days", "weeks")


@dataclass(frozen=True)
class Finding:
    """One thing the doctor can learn about the patient."""

    id: str
    """Stable identifier, e.g. ``"dysuria"``."""
    kind: str
    """One of :data:`FINDING_KINDS`."""
    name: str
    """Medical name, e.g. ``"dysuria"`` (shown in summaries)."""
    lay_present: str
    """What the patient (or the examiner, for exam and test findings) says when present."""
    lay_absent: str
    """What is said when the finding is absent."""
    synonyms: tuple[tuple[str, ...], ...]
    """Trigger phrases: each is a tuple of word stems that must all occur in one clause of the
    doctor's question (see :func:`turngym.envs.clinical.patient.match_findings`)."""
    modifier: bool = False
    """A qualifier of another complaint ("it spreads to my arm"), never a chief complaint."""

    @property
    def canonical_question(self) -> str:
        """A question that asks for exactly this finding (its first synonym, as words)."""
        words = " ".join(self.synonyms[0])
        if self.kind == "exam":
            return f"Let me examine: {words}."
        if self.kind == "test":
            return f"Let's run a test: {words}."
        return f"Any {words}?"


@dataclass(frozen=True)
class Condition:
    """One condition of the table with its typical findings."""

    id: str
    """Stable identifier, e.g. ``"influenza"``."""
    name: str
    """Display name, e.g. ``"Influenza"``."""
    aliases: tuple[str, ...]
    """Other accepted names of the condition in a diagnosis (lower case)."""
    prevalence: float
    """Relative prior weight among the table's conditions (normalised by the table)."""
    age_range: tuple[int, int]
    """Ages (inclusive) of generated patients with this condition."""
    female_fraction: float
    """Probability that a generated patient is female (0 or 1 for sex-specific conditions)."""
    findings: Mapping[str, float] = field(default_factory=dict)
    """Finding id -> rough P(finding present | condition)."""
    onset: str = "days"
    """How long ago it started: ``"hours"``, ``"days"`` or ``"weeks"`` (what the patient says
    when asked; not part of the posterior)."""

    @property
    def key_findings(self) -> tuple[str, ...]:
        """Findings present in at least half of the patients (the ones a good interview asks)."""
        return tuple(f for f, p in self.findings.items() if p >= 0.5)


@dataclass(frozen=True)
class ConditionTable:
    """A finding vocabulary and the conditions defined over it."""

    findings: tuple[Finding, ...]
    """The vocabulary, in a fixed order (the columns of the likelihood matrix)."""
    conditions: tuple[Condition, ...]
    """The conditions, in a fixed order (the rows of the likelihood matrix)."""

    def __post_init__(self) -> None:
        ids = [f.id for f in self.findings]
        if len(set(ids)) != len(ids):
            raise ValueError("finding ids must be unique")
        cids = [c.id for c in self.conditions]
        if len(set(cids)) != len(cids):
            raise ValueError("condition ids must be unique")
        known = set(ids)
        for f in self.findings:
            if f.kind not in FINDING_KINDS:
                raise ValueError(
                    f"finding {f.id!r} has kind {f.kind!r}; use one of {FINDING_KINDS}"
                )
            if not f.synonyms or any(not s for s in f.synonyms):
                raise ValueError(f"finding {f.id!r} needs at least one non-empty synonym")
        for c in self.conditions:
            unknown = sorted(set(c.findings) - known)
            if unknown:
                raise ValueError(
                    f"condition {c.id!r} uses findings {unknown} that are not in the vocabulary; "
                    "add them to the finding list"
                )
            bad = {f: p for f, p in c.findings.items() if not 0.0 < p < 1.0}
            if bad:
                raise ValueError(f"condition {c.id!r} has probabilities outside (0, 1): {bad}")
            if c.onset not in ONSETS:
                raise ValueError(f"condition {c.id!r} has onset {c.onset!r}; use one of {ONSETS}")
            if c.prevalence <= 0:
                raise ValueError(f"condition {c.id!r} needs a positive prevalence")

    def finding(self, finding_id: str) -> Finding:
        """The finding with this id (``KeyError`` naming the id if unknown)."""
        for f in self.findings:
            if f.id == finding_id:
                return f
        raise KeyError(f"unknown finding {finding_id!r}")

    def condition(self, condition_id: str) -> Condition:
        """The condition with this id (``KeyError`` naming the id if unknown)."""
        for c in self.conditions:
            if c.id == condition_id:
                return c
        raise KeyError(f"unknown condition {condition_id!r}")


def _syn(text: str) -> tuple[tuple[str, ...], ...]:
    # "a b|c" -> (("a", "b"), ("c",)): alternatives split by "|", stems by spaces
    return tuple(tuple(part.split()) for part in text.split("|"))


# Symptoms that qualify another complaint; a patient does not open with them.
_MODIFIERS = frozenset(
    {
        "pain_radiating_arm_jaw",
        "exertional_symptoms",
        "rlq_pain",
        "ruq_pain",
        "periumbilical_onset",
        "postprandial_pain",
        "positional_trigger",
        "itching",
        "unilateral_headache",
        "band_headache",
        "photophobia",
        "phonophobia",
        "pleuritic_pain",
        "orthopnea",
        "sputum",
        "regurgitation",
        "epigastric_pain",
    }
)


def _f(fid: str, kind: str, name: str, synonyms: str, present: str, absent: str) -> Finding:
    return Finding(fid, kind, name, present, absent, _syn(synonyms), fid in _MODIFIERS)


# fmt: off
FINDINGS: tuple[Finding, ...] = (
    # ---- general symptoms ----
    _f("fever", "symptom", "fever", "fever|temperature|feverish|febrile|high temp",
       "Yes, I've been running a fever, feeling hot.", "No, no fever."),
    _f("chills", "symptom", "chills", "chill|shiver|rigor",
       "Yes, I get chills and shivers.", "No chills."),
    _f("fatigue", "symptom", "fatigue", "tired|fatigue|exhaust|energy|letharg|weary",
       "Yes, I'm tired all the time.", "No, my energy is fine."),
    _f("weight_loss", "symptom", "unintentional weight loss",
       "weight loss|lost weight|losing weight|weight los|thinner",
       "Yes, I've lost weight without trying.", "No, my weight hasn't dropped."),
    _f("weight_gain", "symptom", "weight gain",
       "weight gain|gained weight|gaining weight|put weight",
       "Yes, I've put on weight.", "No, I haven't gained weight."),
    _f("night_sweats", "symptom", "night sweats", "night sweat|sweat night|sweats night",
       "Yes, I wake up drenched in sweat.", "No night sweats."),
    _f("sweating", "symptom", "diaphoresis", "sweat|diaphore|clammy",
       "Yes, I've been sweating a lot, cold and clammy.", "No, I'm not sweaty."),
    _f("body_aches", "symptom", "myalgia", "body ache|muscle ache|myalgia|muscle pain|aching|aches",
       "Yes, my whole body aches.", "No body aches."),
    _f("poor_appetite", "symptom", "anorexia", "appetite|hungry",
       "Yes, I've lost my appetite.", "No, I'm eating normally."),
    # ---- ENT and respiratory ----
    _f("sore_throat", "symptom", "pharyngitis", "sore throat|throat",
       "Yes, my throat is really sore.", "No, my throat is fine."),
    _f("runny_nose", "symptom", "rhinorrhea", "runny|rhinorr|nose run|sniffl",
       "Yes, my nose keeps running.", "No runny nose."),
    _f("nasal_congestion", "symptom", "nasal congestion", "stuffy|congest|blocked nose|nose block",
       "Yes, my nose is all blocked up.", "No, my nose isn't blocked."),
    _f("sneezing", "symptom", "sneezing", "sneez", "Yes, I keep sneezing.", "No sneezing."),
    _f("facial_pain", "symptom", "facial pain", "face pain|facial pain|face hurt|cheek|forehead",
       "Yes, my face hurts, around my cheeks and forehead.", "No, my face doesn't hurt."),
    _f("ear_pain", "symptom", "otalgia", "ear pain|earache|ear hurt|ear ache|ears hurt|otalgia",
       "Yes, my ear really hurts.", "No, my ears are fine."),
    _f("cough", "symptom", "cough", "cough", "Yes, I've been coughing.", "No, I'm not coughing."),
    _f("sputum", "symptom", "productive cough", "phlegm|sputum|mucus|cough up|productive",
       "Yes, I'm coughing up thick yellow-green phlegm.", "No, nothing comes up."),
    _f("hemoptysis", "symptom", "hemoptysis", "cough blood|blood cough|hemoptys|haemoptys",
       "Yes, there was some blood when I coughed.", "No, no blood when I cough."),
    _f("shortness_of_breath", "symptom", "dyspnea", "breath|dyspn|winded|breathless",
       "Yes, I get short of breath.", "No, my breathing is fine."),
    _f("wheezing", "symptom", "wheeze", "wheez|whistl",
       "Yes, there's a whistling when I breathe.", "No wheezing."),
    _f("orthopnea", "symptom", "orthopnea", "lying flat|lie flat|pillow|orthopn|breath lying",
       "Yes, I can't breathe lying flat; I sleep on three pillows.", "No, lying flat is fine."),
    _f("pleuritic_pain", "symptom", "pleuritic chest pain",
       "pain breath in|hurt breath in|pleurit|sharp breath|pain deep breath|hurt deep breath",
       "Yes, it's a sharp pain when I breathe in.", "No, breathing in doesn't hurt."),
    # ---- cardiovascular ----
    _f("chest_pain", "symptom", "chest pain",
       "chest pain|chest hurt|chest ache|chest tight|chest pressure|chest discomfort|pain chest",
       "Yes, I have pain in my chest, like a pressure.", "No chest pain."),
    _f("pain_radiating_arm_jaw", "symptom", "radiation to arm or jaw", "arm|jaw|radiat|spread",
       "Yes, it spreads to my left arm and jaw.", "No, it doesn't spread anywhere."),
    _f("exertional_symptoms", "symptom", "exertional symptoms",
       "exert|exercis|stairs|walking|activity|effort",
       "Yes, it comes on when I walk or climb stairs and settles with rest.",
       "No, it isn't linked to exertion."),
    _f("palpitations", "symptom", "palpitations",
       "palpitat|heart rac|heart pound|heart flutter|racing heart|heartbeat",
       "Yes, my heart races and pounds.", "No palpitations."),
    _f("leg_swelling", "symptom", "leg swelling",
       "swelling leg|leg swell|legs swell|swollen leg|ankle swell|swollen ankle|edema|oedema",
       "Yes, my legs and ankles are swollen.", "No, my legs aren't swollen."),
    _f("calf_pain", "symptom", "calf pain", "calf|calves",
       "Yes, one calf is painful and swollen.", "No, my calves are fine."),
    _f("syncope", "symptom", "syncope", "faint|pass out|passed out|syncop|black out|collapse",
       "Yes, I nearly fainted.", "No, I haven't fainted."),
    # ---- gastrointestinal ----
    _f("nausea", "symptom", "nausea", "nause|queas|sick stomach|feel sick",
       "Yes, I feel sick to my stomach.", "No nausea."),
    _f("vomiting", "symptom", "vomiting", "vomit|throw|threw|puk|being sick",
       "Yes, I've been throwing up.", "No, I haven't vomited."),
    _f("diarrhea", "symptom", "diarrhea", "diarrh|loose|watery stool|runs",
       "Yes, I have diarrhea, very watery.", "No diarrhea."),
    _f("constipation", "symptom", "constipation", "constipat|hard stool|straining",
       "Yes, I'm constipated.", "No, I'm not constipated."),
    _f("abdominal_pain", "symptom", "abdominal pain",
       "abdom|belly|tummy|stomach pain|stomach ache|stomachache|stomach hurt",
       "Yes, my stomach hurts.", "No, my stomach doesn't hurt."),
    _f("epigastric_pain", "symptom", "epigastric pain",
       "upper abdom|upper belly|upper stomach|epigastr|top stomach|top belly",
       "Yes, the pain is high up in the middle, under my breastbone.",
       "No, nothing in the upper middle."),
    _f("rlq_pain", "symptom", "right lower quadrant pain",
       "right lower|lower right", "Yes, it's low on the right side.",
       "No, not in the lower right."),
    _f("ruq_pain", "symptom", "right upper quadrant pain",
       "right upper|upper right|under right rib|right rib",
       "Yes, it's under my right ribs.", "No, not under my right ribs."),
    _f("periumbilical_onset", "symptom", "pain starting around the navel",
       "belly button|navel|umbilic|around middle",
       "Yes, it started around my belly button and then moved.",
       "No, it didn't start around my belly button."),
    _f("flank_pain", "symptom", "flank pain", "flank|loin|side back|kidney pain",
       "Yes, a terrible pain in my side and back, it comes in waves.",
       "No, no pain in my side or back."),
    _f("heartburn", "symptom", "heartburn", "heartburn|acid|reflux|burning chest|burning throat",
       "Yes, I get burning heartburn.", "No heartburn."),
    _f("regurgitation", "symptom", "regurgitation", "regurgit|sour|bitter taste|taste mouth",
       "Yes, sour stuff comes up into my mouth.", "No, nothing comes back up."),
    _f("bloating", "symptom", "bloating", "bloat|gassy|wind|distend",
       "Yes, I'm bloated and gassy.", "No bloating."),
    _f("postprandial_pain", "symptom", "pain after meals",
       "after eat|after meal|fatty food|after food|eating",
       "Yes, it gets worse after I eat, especially fatty food.",
       "No, eating doesn't change it."),
    _f("melena", "symptom", "melena or blood in stool",
       "blood stool|black stool|tarry|melena|melaena|bloody stool|blood poo|stool blood",
       "Yes, my stools have been black.", "No, no blood or black stools."),
    _f("jaundice", "symptom", "jaundice", "yellow|jaundic",
       "Yes, my eyes look a bit yellow.", "No, I'm not yellow."),
    _f("bowel_habit_change", "symptom", "altered bowel habit",
       "bowel habit|alternat|bowel movement|bowel change",
       "Yes, it swings between constipation and diarrhea, and going to the toilet eases the "
       "pain.", "No, my bowels are regular."),
    # ---- genitourinary ----
    _f("dysuria", "symptom", "dysuria",
       "burn pee|burn urin|pain urin|pain pee|hurt pee|hurt urin|dysuria|sting pee|peeing hurt|"
       "burning when",
       "Yes, it burns when I pee.", "No, peeing doesn't hurt."),
    _f("urinary_frequency", "symptom", "urinary frequency",
       "frequen|often pee|often urin|keep going|pee often|urgen|rush toilet",
       "Yes, I need to pee all the time, and urgently.", "No, I'm not going more often."),
    _f("hematuria", "symptom", "hematuria",
       "blood urine|blood pee|hematur|haematur|pink urine|red urine|urine blood|urine colo|"
       "pee colo",
       "Yes, my urine looked pink.", "No blood in my urine."),
    _f("polyuria", "symptom", "polyuria", "polyur|lots urine|more urine|large amount|pee lot|"
       "urinat night|pee night|passing lot",
       "Yes, I pass a lot of urine, even at night.", "No, I'm not passing more urine."),
    _f("polydipsia", "symptom", "polydipsia", "thirst|polydips|drink lot|drinking lot",
       "Yes, I'm thirsty all the time.", "No, I'm not unusually thirsty."),
    # ---- neurological ----
    _f("headache", "symptom", "headache", "headache|head hurt|head pain|head ache|head",
       "Yes, I have a headache.", "No headache."),
    _f("unilateral_headache", "symptom", "unilateral throbbing headache",
       "one side head|side head|unilateral|throb|pulsat",
       "Yes, it throbs on one side of my head.", "No, it isn't one-sided or throbbing."),
    _f("band_headache", "symptom", "band-like headache",
       "band|tight head|squeez|pressure head|head tight",
       "Yes, it's like a tight band around my head.", "No, not like a band."),
    _f("photophobia", "symptom", "photophobia", "light|photophob|bright",
       "Yes, bright light really bothers me.", "No, light doesn't bother me."),
    _f("phonophobia", "symptom", "phonophobia", "noise|sound|phonophob|loud",
       "Yes, noise makes it worse.", "No, noise is fine."),
    _f("visual_aura", "symptom", "visual aura", "aura|zigzag|flash|spots vision|see line",
       "Yes, I see zigzag lines before it starts.", "No, nothing like that with my vision."),
    _f("neck_stiffness", "symptom", "neck stiffness",
       "stiff neck|neck stiff|neck pain|neck hurt|neck ache|move neck",
       "Yes, my neck is stiff and hurts to bend.", "No, my neck is fine."),
    _f("confusion", "symptom", "confusion", "confus|disorient|muddl|drowsy",
       "My family says I've been confused.", "No, my head is clear."),
    _f("face_droop", "symptom", "facial droop", "face droop|droop|facial|smile|face weak",
       "Yes, one side of my face is drooping.", "No, my face is normal."),
    _f("limb_weakness", "symptom", "unilateral limb weakness",
       "weak arm|weak leg|weakness|weak|numb",
       "Yes, my arm and leg on one side are weak and numb.", "No weakness or numbness."),
    _f("speech_difficulty", "symptom", "dysarthria or aphasia", "speech|speak|slur|words|talk",
       "Yes, my words come out slurred.", "No, my speech is fine."),
    _f("vertigo", "symptom", "vertigo", "dizz|vertigo|spin|lighthead",
       "Yes, the room spins.", "No, I'm not dizzy."),
    _f("positional_trigger", "symptom", "positional trigger",
       "turn head|roll bed|position|move head|roll over|lying down",
       "Yes, it happens when I roll over in bed or turn my head.",
       "No, moving my head doesn't trigger anything."),
    # ---- eyes and skin ----
    _f("red_eye", "symptom", "red eye", "red eye|eye red|pink eye|bloodshot|eye look",
       "Yes, my eye is red.", "No, my eyes aren't red."),
    _f("eye_discharge", "symptom", "eye discharge",
       "discharge|crust|sticky eye|gunk|eyes stuck",
       "Yes, there's sticky discharge; my eyelids were stuck in the morning.",
       "No discharge."),
    _f("itching", "symptom", "pruritus", "itch|prurit", "Yes, it's itchy.", "No, it isn't itchy."),
    _f("skin_redness", "symptom", "spreading skin redness",
       "red skin|skin red|redness|rash|red patch|skin",
       "Yes, there's a red, hot, swollen patch of skin on my leg that's spreading.",
       "No skin redness or rash."),
    _f("pale_skin", "symptom", "pallor", "pale|pallor|look pale",
       "People say I look pale.", "No, my colour is normal."),
    # ---- musculoskeletal ----
    _f("joint_pain", "symptom", "arthralgia", "joint|arthralg|knee|hip|toe",
       "Yes, a joint is painful.", "No joint pain."),
    _f("acute_monoarthritis", "symptom", "acute hot swollen joint",
       "big toe|swollen joint|joint swell|red joint|hot joint|joint red|sudden joint",
       "Yes, my big toe joint went red, hot and swollen overnight; even the sheet hurts.",
       "No, no joint went suddenly red and swollen."),
    _f("morning_stiffness", "symptom", "morning stiffness", "stiff morning|morning stiff|stiffness",
       "Yes, it's stiff in the morning for a few minutes and worse after use.",
       "No stiffness."),
    _f("back_pain", "symptom", "low back pain",
       "back pain|back hurt|backache|back ache|lower back|back",
       "Yes, my lower back hurts.", "No back pain."),
    _f("pain_after_lifting", "history", "onset after lifting", "lift|strain|bend|heavy",
       "Yes, it started after I lifted something heavy.", "No, I didn't lift or strain anything."),
    # ---- mood, sleep, endocrine ----
    _f("low_mood", "symptom", "low mood", "sad|depress|low mood|down|mood|hopeless",
       "Yes, I've felt down and hopeless most days.", "No, my mood is fine."),
    _f("anhedonia", "symptom", "anhedonia", "enjoy|interest|pleasure|anhedon",
       "Yes, I don't enjoy anything anymore.", "No, I still enjoy things."),
    _f("sleep_disturbance", "symptom", "sleep disturbance", "sleep|insomn",
       "Yes, I sleep badly.", "No, I sleep fine."),
    _f("excessive_worry", "symptom", "excessive worry", "worr|anxi|nervous|on edge|panic|tense",
       "Yes, I worry about everything and feel on edge.", "No, I'm not especially worried."),
    _f("poor_concentration", "symptom", "poor concentration", "concentrat|focus|memory|think",
       "Yes, I can't concentrate.", "No, I can concentrate fine."),
    _f("heat_intolerance", "symptom", "heat intolerance", "heat|hot weather|warm room|too hot",
       "Yes, I can't stand the heat.", "No, heat is fine."),
    _f("cold_intolerance", "symptom", "cold intolerance", "feel cold|cold intoler|always cold|"
       "cold all|too cold",
       "Yes, I feel cold when others are fine.", "No, I don't feel cold."),
    _f("tremor", "symptom", "tremor", "tremor|shak|trembl", "Yes, my hands shake.", "No tremor."),
    _f("dry_skin_hair", "symptom", "dry skin and hair", "dry skin|hair|dry",
       "Yes, my skin is dry and my hair is thinning.", "No, my skin and hair are normal."),
    _f("blurred_vision", "symptom", "blurred vision", "blur|vision|see clear|eyesight",
       "Yes, my vision is blurry.", "No, I see fine."),
    _f("heavy_periods", "history", "menorrhagia", "period|menstru|menorrh",
       "Yes, my periods are very heavy.", "No, my periods are normal (or not applicable)."),
    # ---- history and risk factors ----
    _f("smoking", "risk_factor", "smoking", "smok|cigar|tobacco|vape",
       "Yes, I smoke about a pack a day.", "No, I don't smoke."),
    _f("hypertension_history", "history", "hypertension", "blood pressure|hypertens"
       "|medical history|medical condition|past medical|health problem|chronic",
       "Yes, I have high blood pressure.", "No, my blood pressure has always been normal."),
    _f("diabetes_history", "history", "diabetes", "diabet|sugar"
       "|medical history|medical condition|past medical|health problem|chronic",
       "Yes, I have diabetes.", "No, I don't have diabetes."),
    _f("high_cholesterol", "history", "hyperlipidemia", "cholesterol|lipid"
       "|medical history|medical condition|past medical|health problem|chronic",
       "Yes, my cholesterol is high.", "No, my cholesterol is fine."),
    _f("heart_disease_history", "history", "known heart disease",
       "heart attack|heart disease|heart problem|cardiac|heart failure|heart condition"
       "|medical history|medical condition|past medical|health problem|chronic",
       "Yes, I've had heart trouble before.", "No, I've never had heart problems."),
    _f("lung_disease_history", "history", "chronic lung disease",
       "lung disease|copd|emphysema|inhaler|asthma|lung problem|lung condition"
       "|medical history|medical condition|past medical|health problem|chronic",
       "Yes, I have a lung condition and use an inhaler.", "No lung problems."),
    _f("immobility", "risk_factor", "recent immobility",
       "travel|flight|fly|immobil|bed rest|surgery|operation|long drive|plane",
       "Yes, I had a long flight recently.", "No recent travel, surgery or bed rest."),
    _f("hormone_use", "risk_factor", "estrogen use",
       "pill|contracept|hormone|estrogen|oestrogen|medication|medicine|tablet|"
       "take any",
       "Yes, I take the contraceptive pill.", "No hormones or contraceptive pill."),
    _f("sick_contacts", "risk_factor", "sick contacts",
       "sick contact|anyone sick|around sick|someone ill|others sick|people sick|contact|"
       "anyone else|anyone ill",
       "Yes, several people around me have been ill with the same thing.",
       "No, nobody around me is sick."),
    _f("suspect_food", "risk_factor", "suspect food",
       "food poison|restaurant|undercook|takeaway|contaminat|eat out|bad food|ate",
       "Yes, I ate some dodgy chicken at a barbecue.", "No, nothing unusual that I ate."),
    _f("atopy", "history", "atopy", "allerg|hay fever|eczema|atop",
       "Yes, I have allergies and hay fever.", "No allergies."),
    _f("alcohol", "risk_factor", "heavy alcohol use", "alcohol|drink|beer|wine|spirits",
       "Yes, I drink quite a lot most nights.", "No, I hardly drink."),
    _f("nsaid_use", "risk_factor", "NSAID use",
       "ibuprofen|nsaid|aspirin|painkiller|naproxen|medication|medicine|tablet|"
       "take any",
       "Yes, I take ibuprofen most days.", "No, I don't take painkillers."),
    _f("obesity", "risk_factor", "obesity", "obes|overweight|bmi",
       "Yes, I'm quite overweight.", "No, my weight is normal."),
    _f("recurrent_episodes", "history", "similar episodes before",
       "before|previous|happen again|similar|past|recurr",
       "Yes, I've had episodes like this before.", "No, this is the first time."),
    _f("recent_cold", "history", "preceding upper respiratory infection",
       "recent cold|had cold|after cold|preceding|cold before",
       "Yes, it started after a cold a week or so ago.", "No, I hadn't had a cold."),
    _f("stress", "risk_factor", "psychosocial stress", "stress|pressure work|work",
       "Yes, I'm under a lot of stress.", "No, life is fairly calm."),
    _f("family_thyroid", "history", "family history of thyroid disease",
       "family thyroid|thyroid family|thyroid problem|thyroid disease|thyroid condition",
       "Yes, thyroid problems run in my family.", "No thyroid problems in the family."),
    _f("skin_break", "risk_factor", "skin wound", "cut|wound|scratch|bite|injur|graze",
       "Yes, I scratched my leg in the garden last week.", "No cuts or wounds."),
    # ---- examination ----
    _f("exam_tonsillar_exudate", "exam", "tonsillar exudate",
       "tonsil|look throat|examin throat|exudat|check throat",
       "Exam: swollen tonsils with white exudate.", "Exam: throat and tonsils look normal."),
    _f("exam_lymphadenopathy", "exam", "tender cervical lymph nodes",
       "lymph|gland|node", "Exam: tender swollen neck glands.", "Exam: no swollen glands."),
    _f("exam_crackles", "exam", "crackles on auscultation",
       "listen lung|listen chest|auscult|crackl|lung sound|breath sound|stethoscope",
       "Exam: crackles heard over the lungs.", "Exam: no crackles."),
    _f("exam_wheeze", "exam", "wheeze on auscultation",
       "listen lung|listen chest|auscult|lung sound|breath sound|stethoscope",
       "Exam: widespread wheeze on auscultation.", "Exam: no wheeze on auscultation."),
    _f("exam_low_oxygen", "exam", "hypoxemia", "oxygen|saturat|pulse ox|spo2|sats",
       "Exam: oxygen saturation low, 89%.", "Exam: oxygen saturation normal, 98%."),
    _f("exam_tachycardia", "exam", "tachycardia", "pulse|heart rate|vital",
       "Exam: pulse fast, 118 per minute.", "Exam: pulse normal, 76 per minute."),
    _f("exam_high_bp", "exam", "raised blood pressure",
       "check blood pressure|measur blood pressure|take blood pressure|bp|vital",
       "Exam: blood pressure high, 172/98.", "Exam: blood pressure normal, 122/78."),
    _f("exam_rlq_tenderness", "exam", "right lower quadrant tenderness",
       "examin abdom|examin belly|examin stomach|palpat|feel abdom|feel belly|press belly|"
       "press abdom|mcburney|rebound",
       "Exam: tender with guarding in the right lower abdomen.",
       "Exam: no right lower abdominal tenderness."),
    _f("exam_murphy_sign", "exam", "positive Murphy's sign",
       "examin abdom|examin belly|examin stomach|palpat|feel abdom|feel belly|press belly|"
       "press abdom|murphy",
       "Exam: tender under the right ribs, catches breath on palpation (Murphy's sign).",
       "Exam: Murphy's sign negative."),
    _f("exam_epigastric_tenderness", "exam", "epigastric tenderness",
       "examin abdom|examin belly|examin stomach|palpat|feel abdom|feel belly|press belly|"
       "press abdom",
       "Exam: tender in the upper middle abdomen.", "Exam: no epigastric tenderness."),
    _f("exam_suprapubic_tenderness", "exam", "suprapubic tenderness",
       "examin abdom|examin belly|examin stomach|palpat|feel abdom|feel belly|press belly|"
       "press abdom|suprapubic|bladder",
       "Exam: tender above the pubic bone.", "Exam: no suprapubic tenderness."),
    _f("exam_cva_tenderness", "exam", "costovertebral angle tenderness",
       "costovertebral|cva|renal angle|kidney punch|tap back|examin back|examin flank",
       "Exam: tender over the kidney at the back.", "Exam: no renal angle tenderness."),
    _f("exam_meningism", "exam", "meningism (Kernig/Brudzinski)",
       "kernig|brudzinski|examin neck|bend neck|check neck|meningism",
       "Exam: neck stiff on flexion; Kernig's sign positive.", "Exam: no meningism."),
    _f("exam_focal_deficit", "exam", "focal neurological deficit",
       "neuro|reflex|examin strength|cranial|grip|power",
       "Exam: weakness of the right arm and leg, right facial droop.",
       "Exam: neurological exam normal."),
    _f("exam_unilateral_calf_swelling", "exam", "unilateral calf swelling",
       "examin leg|measur calf|look leg|examin calf|leg exam|calf exam",
       "Exam: the left calf is swollen, warm and tender; 3 cm bigger than the right.",
       "Exam: calves symmetric, not tender."),
    _f("exam_raised_jvp", "exam", "raised jugular venous pressure",
       "jvp|neck vein|jugular", "Exam: neck veins distended.", "Exam: JVP not raised."),
    _f("exam_goiter", "exam", "goiter", "goiter|goitre|examin thyroid|feel thyroid|thyroid exam",
       "Exam: thyroid gland enlarged.", "Exam: thyroid not enlarged."),
    _f("exam_pale_conjunctiva", "exam", "conjunctival pallor",
       "conjunctiv|examin eyelid|look eyelid|lower eyelid",
       "Exam: pale conjunctivae.", "Exam: conjunctivae pink."),
    _f("exam_red_eardrum", "exam", "bulging red tympanic membrane",
       "otoscop|look ear|examin ear|eardrum|tympanic|check ear",
       "Exam: eardrum red and bulging.", "Exam: eardrums normal."),
    _f("exam_sinus_tenderness", "exam", "sinus tenderness", "sinus|press face|tap face",
       "Exam: tender over the maxillary sinuses.", "Exam: no sinus tenderness."),
    _f("exam_warm_erythema", "exam", "warm spreading erythema",
       "examin skin|look skin|look rash|examin rash|examin red|look red",
       "Exam: warm, tender, poorly demarcated erythema over the shin.",
       "Exam: skin normal."),
    _f("exam_hot_joint", "exam", "hot swollen joint on exam",
       "examin joint|look joint|examin toe|look toe|examin knee|look knee",
       "Exam: first toe joint hot, red, swollen, exquisitely tender.",
       "Exam: joints not hot or swollen."),
    _f("exam_crepitus", "exam", "joint crepitus",
       "crepit|grind|creak|examin joint|examin knee|look knee|look joint",
       "Exam: crepitus and bony enlargement of the knee, no warmth.",
       "Exam: no crepitus."),
    _f("exam_dix_hallpike", "exam", "positive Dix-Hallpike test", "dix|hallpike|nystagm",
       "Exam: Dix-Hallpike positive, rotatory nystagmus.", "Exam: Dix-Hallpike negative."),
    _f("exam_conjunctival_injection", "exam", "conjunctival injection",
       "look eye|examin eye|check eye", "Exam: red, injected conjunctiva with discharge.",
       "Exam: eyes look normal."),
    _f("exam_straight_leg_raise", "exam", "positive straight leg raise",
       "straight leg|leg raise|slr", "Exam: straight leg raise reproduces the back pain.",
       "Exam: straight leg raise negative."),
    # ---- tests ----
    _f("test_ecg_ischemia", "test", "ischemic ECG changes", "ecg|ekg|electrocardio|heart tracing",
       "Test: ECG shows ST elevation.", "Test: ECG normal."),
    _f("test_troponin_high", "test", "raised troponin", "troponin|cardiac enzyme",
       "Test: troponin raised.", "Test: troponin normal."),
    _f("test_cxr_infiltrate", "test", "consolidation on chest x-ray",
       "chest x ray|chest xray|cxr|x ray chest|xray|x ray|radiograph",
       "Test: chest X-ray shows consolidation.", "Test: chest X-ray clear."),
    _f("test_d_dimer_high", "test", "raised D-dimer", "dimer",
       "Test: D-dimer raised.", "Test: D-dimer normal."),
    _f("test_high_wbc", "test", "leukocytosis",
       "blood count|white cell|wbc|fbc|cbc|blood test|bloods",
       "Test: white cell count high.", "Test: white cell count normal."),
    _f("test_low_hemoglobin", "test", "low hemoglobin",
       "blood count|hemoglobin|haemoglobin|fbc|cbc|blood test|bloods|hb",
       "Test: hemoglobin low with small red cells.", "Test: hemoglobin normal."),
    _f("test_urine_nitrite", "test", "nitrites and leukocytes in urine",
       "urin test|urinalys|dipstick|urine sample|test urine|urine dip|urine test",
       "Test: urine dipstick positive for nitrites and leukocytes.",
       "Test: urine dipstick negative for nitrites and leukocytes."),
    _f("test_urine_blood", "test", "blood in urine on dipstick",
       "urin test|urinalys|dipstick|urine sample|test urine|urine dip|urine test",
       "Test: urine dipstick shows blood.", "Test: no blood on urine dipstick."),
    _f("test_high_glucose", "test", "hyperglycemia", "glucose|blood sugar|hba1c|a1c|sugar test",
       "Test: blood glucose 16 mmol/L, HbA1c 9%.", "Test: blood glucose normal."),
    _f("test_tsh_low", "test", "suppressed TSH", "tsh|thyroid test|thyroid function|thyroid level",
       "Test: TSH suppressed, free T4 high.", "Test: TSH not suppressed."),
    _f("test_tsh_high", "test", "raised TSH", "tsh|thyroid test|thyroid function|thyroid level",
       "Test: TSH raised, free T4 low.", "Test: TSH not raised."),
    _f("test_rapid_strep", "test", "positive rapid strep test", "strep|throat swab|swab",
       "Test: rapid strep test positive.", "Test: rapid strep test negative."),
    _f("test_covid_positive", "test", "positive SARS-CoV-2 test",
       "covid|pcr|antigen|lateral flow|coronavirus|swab",
       "Test: SARS-CoV-2 test positive.", "Test: SARS-CoV-2 test negative."),
    _f("test_flu_positive", "test", "positive influenza test", "flu test|influenza test|swab",
       "Test: influenza test positive.", "Test: influenza test negative."),
    _f("test_ultrasound_gallstones", "test", "gallstones with wall thickening on ultrasound",
       "ultrasound|sonogra|scan abdom|scan belly|gallbladder",
       "Test: ultrasound shows gallstones and a thick-walled gallbladder.",
       "Test: abdominal ultrasound shows no gallstones."),
    _f("test_ct_appendicitis", "test", "inflamed appendix on CT",
       "ct abdom|ct belly|ct stomach|ct|cat scan|appendix scan",
       "Test: CT shows an inflamed appendix.", "Test: CT shows a normal appendix."),
    _f("test_ct_kidney_stone", "test", "ureteric stone on CT",
       "ct kidney|ct kub|kub|ct|cat scan|kidney scan",
       "Test: CT shows a stone in the ureter.", "Test: CT shows no kidney stone."),
    _f("test_brain_imaging_stroke", "test", "acute stroke on brain imaging",
       "ct head|ct brain|mri|brain scan|head scan|ct|cat scan",
       "Test: brain imaging shows an acute infarct.", "Test: brain imaging normal."),
    _f("test_lumbar_puncture", "test", "bacterial meningitis picture on CSF",
       "lumbar|spinal tap|lp|csf", "Test: CSF cloudy, high neutrophils, low glucose.",
       "Test: CSF normal."),
    _f("test_peak_flow_low", "test", "reduced peak flow",
       "peak flow|spirometr|lung function|fev1", "Test: peak flow much reduced.",
       "Test: peak flow normal."),
    _f("test_low_ferritin", "test", "low ferritin", "ferritin|iron",
       "Test: ferritin low.", "Test: ferritin normal."),
    _f("test_high_uric_acid", "test", "raised uric acid", "uric|urate",
       "Test: serum urate high.", "Test: serum urate normal."),
    _f("test_high_bnp", "test", "raised BNP", "bnp|natriuretic", "Test: BNP very high.",
       "Test: BNP normal."),
    _f("test_ctpa_clot", "test", "pulmonary embolus on CT angiogram",
       "ctpa|angiogra|ct chest|ct lung|ct pulmonary",
       "Test: CT pulmonary angiogram shows a clot.", "Test: CT pulmonary angiogram clear."),
    _f("test_doppler_dvt", "test", "deep vein thrombosis on ultrasound",
       "doppler|ultrasound leg|leg scan|leg ultrasound|duplex",
       "Test: leg ultrasound shows a clot in the deep veins.",
       "Test: leg ultrasound shows no clot."),
    _f("test_high_crp", "test", "raised CRP", "crp|esr|inflammat marker|c reactive",
       "Test: CRP raised.", "Test: CRP normal."),
    _f("test_joint_crystals", "test", "urate crystals in joint fluid",
       "aspirat|joint fluid|crystal|tap joint",
       "Test: joint fluid shows needle-shaped urate crystals.",
       "Test: no crystals in the joint fluid."),
    _f("test_knee_xray_oa", "test", "osteoarthritis on joint x-ray",
       "x ray knee|xray knee|knee x ray|x ray joint|joint x ray|xray joint|knee xray",
       "Test: joint X-ray shows narrowing and osteophytes.", "Test: joint X-ray normal."),
    _f("test_depression_screen", "test", "positive depression questionnaire",
       "phq|questionnaire|depression screen|screening", "Test: PHQ-9 score 19 (severe).",
       "Test: PHQ-9 score 2 (minimal)."),
)


# How long ago the complaint started, as the patient tells it; the rest started days ago.
_HOURS = frozenset({
    "myocardial_infarction", "stroke", "pulmonary_embolism", "kidney_stone", "appendicitis",
    "meningitis", "cholecystitis", "gout", "migraine", "tension_headache",
    "asthma_exacerbation",
})
_WEEKS = frozenset({
    "type2_diabetes", "hypothyroidism", "hyperthyroidism", "iron_deficiency_anemia",
    "depression", "anxiety", "ibs", "gerd", "osteoarthritis", "stable_angina", "heart_failure",
    "allergic_rhinitis",
})


def _c(cid: str, name: str, aliases: str, prevalence: float, ages: tuple[int, int],
       female: float, findings: str) -> Condition:
    probs: dict[str, float] = {}
    for item in findings.split(","):
        fid, p = item.split()
        probs[fid] = float(p)
    names = tuple(a.strip() for a in aliases.split("|") if a.strip())
    onset = "hours" if cid in _HOURS else "weeks" if cid in _WEEKS else "days"
    return Condition(cid, name, names, prevalence, ages, female, MappingProxyType(probs), onset)


CONDITIONS: tuple[Condition, ...] = (
    _c("common_cold", "Common cold", "viral upper respiratory infection|uri|urti|cold|"
       "upper respiratory tract infection|coryza|rhinovirus", 3.0, (5, 80), 0.5,
       "runny_nose .9,nasal_congestion .85,sneezing .7,sore_throat .6,cough .5,fever .2,"
       "fatigue .4,headache .3,sick_contacts .5,body_aches .15,exam_lymphadenopathy .2"),
    _c("influenza", "Influenza", "flu|influenza a|influenza b|influenza infection", 2.0,
       (5, 85), 0.5,
       "fever .9,chills .7,body_aches .85,fatigue .85,cough .8,headache .65,sore_throat .5,"
       "runny_nose .4,poor_appetite .5,sick_contacts .5,test_flu_positive .85"),
    _c("covid19", "COVID-19", "covid|covid-19|coronavirus|sars-cov-2|sars cov 2|"
       "coronavirus disease", 2.0, (15, 85), 0.5,
       "fever .7,cough .7,fatigue .7,body_aches .5,headache .5,sore_throat .4,"
       "shortness_of_breath .3,poor_appetite .4,sick_contacts .5,diarrhea .15,"
       "test_covid_positive .9"),
    _c("strep_pharyngitis", "Streptococcal pharyngitis", "strep throat|strep|"
       "streptococcal pharyngitis|bacterial pharyngitis|tonsillitis|group a strep", 1.2,
       (5, 40), 0.5,
       "sore_throat .97,fever .8,exam_tonsillar_exudate .7,exam_lymphadenopathy .75,"
       "headache .4,test_rapid_strep .85,poor_appetite .4,abdominal_pain .15,sick_contacts .3"),
    _c("sinusitis", "Acute sinusitis", "sinusitis|rhinosinusitis|sinus infection|"
       "acute bacterial sinusitis", 1.2, (18, 70), 0.6,
       "facial_pain .85,nasal_congestion .85,runny_nose .6,headache .6,recent_cold .7,"
       "exam_sinus_tenderness .7,fever .3,cough .3,fatigue .3"),
    _c("pneumonia", "Community-acquired pneumonia", "pneumonia|cap|lung infection|"
       "community acquired pneumonia|chest infection", 1.2, (20, 90), 0.5,
       "fever .85,cough .9,sputum .75,shortness_of_breath .7,pleuritic_pain .45,chills .6,"
       "fatigue .7,exam_crackles .8,exam_low_oxygen .5,exam_tachycardia .55,"
       "test_cxr_infiltrate .9,test_high_wbc .75,test_high_crp .85,confusion .1,smoking .3,"
       "lung_disease_history .2"),
    _c("acute_bronchitis", "Acute bronchitis", "bronchitis|chest cold", 1.5, (15, 80), 0.5,
       "cough .95,sputum .6,wheezing .3,fatigue .4,recent_cold .6,fever .2,sore_throat .3,"
       "pleuritic_pain .1,exam_wheeze .2"),
    _c("asthma_exacerbation", "Asthma exacerbation", "asthma|asthma attack|"
       "exacerbation of asthma|acute asthma", 1.0, (5, 60), 0.55,
       "wheezing .9,shortness_of_breath .9,cough .7,lung_disease_history .8,atopy .6,"
       "recurrent_episodes .75,exam_wheeze .85,test_peak_flow_low .9,exam_tachycardia .4,"
       "chest_pain .2,exam_low_oxygen .2"),
    _c("copd_exacerbation", "COPD exacerbation", "copd|chronic obstructive pulmonary disease|"
       "copd exacerbation|emphysema|chronic bronchitis", 0.8, (50, 90), 0.45,
       "shortness_of_breath .95,cough .85,sputum .8,wheezing .7,smoking .9,"
       "lung_disease_history .8,recurrent_episodes .6,exam_wheeze .7,exam_low_oxygen .6,"
       "test_peak_flow_low .8,fatigue .5"),
    _c("allergic_rhinitis", "Allergic rhinitis", "hay fever|allergic rhinitis|allergies|"
       "seasonal allergies|rhinitis", 1.5, (5, 60), 0.5,
       "sneezing .9,runny_nose .85,nasal_congestion .7,itching .7,red_eye .5,atopy .8,"
       "recurrent_episodes .7,cough .2,exam_conjunctival_injection .4"),
    _c("gerd", "Gastroesophageal reflux disease", "gerd|gord|acid reflux|reflux|"
       "gastroesophageal reflux|gastro-oesophageal reflux disease|heartburn", 1.5, (20, 80),
       0.5,
       "heartburn .9,regurgitation .7,epigastric_pain .5,abdominal_pain .4,"
       "postprandial_pain .6,cough .2,obesity .4,alcohol .25,recurrent_episodes .6,"
       "chest_pain .2,sore_throat .1,exam_epigastric_tenderness .2"),
    _c("gastroenteritis", "Acute gastroenteritis", "gastroenteritis|stomach bug|"
       "stomach flu|food poisoning|viral gastroenteritis|infectious diarrhea", 2.0, (2, 85),
       0.5,
       "diarrhea .9,vomiting .7,nausea .8,abdominal_pain .7,fever .4,suspect_food .5,"
       "sick_contacts .4,poor_appetite .6,fatigue .4,body_aches .2,exam_tachycardia .3"),
    _c("appendicitis", "Acute appendicitis", "appendicitis|appendix|inflamed appendix", 0.6,
       (8, 60), 0.45,
       "abdominal_pain .97,rlq_pain .85,periumbilical_onset .6,nausea .75,vomiting .5,"
       "poor_appetite .85,fever .5,exam_rlq_tenderness .9,test_high_wbc .8,"
       "test_ct_appendicitis .95,test_high_crp .7,recurrent_episodes .05"),
    _c("cholecystitis", "Acute cholecystitis", "cholecystitis|gallbladder attack|"
       "gallbladder inflammation|biliary colic|gallstones", 0.6, (30, 80), 0.7,
       "abdominal_pain .95,ruq_pain .85,postprandial_pain .65,nausea .75,vomiting .5,"
       "fever .55,exam_murphy_sign .75,obesity .5,recurrent_episodes .4,"
       "test_ultrasound_gallstones .9,test_high_wbc .65,jaundice .1,epigastric_pain .3"),
    _c("peptic_ulcer", "Peptic ulcer disease", "peptic ulcer|stomach ulcer|gastric ulcer|"
       "duodenal ulcer|pud|ulcer", 0.8, (25, 85), 0.45,
       "epigastric_pain .9,abdominal_pain .9,nsaid_use .5,nausea .4,postprandial_pain .45,"
       "melena .2,bloating .3,exam_epigastric_tenderness .6,smoking .35,alcohol .3,"
       "heartburn .3,test_low_hemoglobin .2"),
    _c("ibs", "Irritable bowel syndrome", "ibs|irritable bowel|irritable bowel syndrome|"
       "spastic colon", 1.2, (18, 55), 0.65,
       "abdominal_pain .9,bloating .8,bowel_habit_change .85,diarrhea .5,constipation .45,"
       "recurrent_episodes .85,stress .6,fatigue .3,test_high_crp .05"),
    _c("uti", "Urinary tract infection (cystitis)", "uti|cystitis|urinary tract infection|"
       "bladder infection|urine infection|lower urinary tract infection", 2.0, (16, 85), 0.85,
       "dysuria .9,urinary_frequency .85,exam_suprapubic_tenderness .5,hematuria .25,"
       "abdominal_pain .4,test_urine_nitrite .8,test_urine_blood .5,fever .1,"
       "recurrent_episodes .35"),
    _c("pyelonephritis", "Pyelonephritis", "pyelonephritis|kidney infection|"
       "upper urinary tract infection|pyelo", 0.5, (16, 85), 0.8,
       "fever .9,flank_pain .85,chills .7,dysuria .6,urinary_frequency .6,nausea .6,"
       "vomiting .4,exam_cva_tenderness .85,test_urine_nitrite .8,test_high_wbc .7,"
       "test_high_crp .8,fatigue .5,back_pain .5,recurrent_episodes .3,diabetes_history .15"),
    _c("kidney_stone", "Kidney stone (renal colic)", "kidney stone|renal colic|"
       "nephrolithiasis|ureteric colic|urolithiasis|renal calculus|ureteral stone", 0.8,
       (20, 70), 0.35,
       "flank_pain .95,hematuria .6,nausea .65,vomiting .45,abdominal_pain .5,"
       "recurrent_episodes .4,test_urine_blood .85,test_ct_kidney_stone .95,"
       "exam_cva_tenderness .5,back_pain .5,dysuria .15"),
    _c("migraine", "Migraine", "migraine|migraine headache|migraine with aura|"
       "migraine without aura", 1.5, (12, 60), 0.75,
       "headache .98,unilateral_headache .7,photophobia .85,phonophobia .75,nausea .7,"
       "vomiting .3,visual_aura .3,recurrent_episodes .9,stress .4,exam_focal_deficit .03"),
    _c("tension_headache", "Tension-type headache", "tension headache|tension-type headache|"
       "stress headache|tension type headache", 1.8, (15, 70), 0.6,
       "headache .98,band_headache .8,stress .7,recurrent_episodes .7,neck_stiffness .3,"
       "sleep_disturbance .3,fatigue .3,photophobia .1,exam_focal_deficit .02"),
    _c("meningitis", "Bacterial meningitis", "meningitis|bacterial meningitis|"
       "meningococcal disease|meningococcal meningitis", 0.15, (1, 70), 0.5,
       "headache .9,fever .9,neck_stiffness .8,photophobia .6,confusion .6,vomiting .55,"
       "nausea .5,skin_redness .2,exam_meningism .75,test_lumbar_puncture .95,"
       "test_high_wbc .8,test_high_crp .9,exam_tachycardia .6,sick_contacts .2"),
    _c("stroke", "Stroke", "stroke|cva|cerebrovascular accident|ischemic stroke|"
       "ischaemic stroke|brain attack|tia", 0.35, (50, 95), 0.5,
       "limb_weakness .85,face_droop .7,speech_difficulty .65,confusion .3,headache .25,"
       "hypertension_history .7,smoking .35,diabetes_history .3,high_cholesterol .45,"
       "exam_focal_deficit .9,test_brain_imaging_stroke .8,exam_high_bp .65,vertigo .2,"
       "blurred_vision .2"),
    _c("myocardial_infarction", "Acute myocardial infarction", "heart attack|mi|"
       "myocardial infarction|acute coronary syndrome|acs|stemi|nstemi", 0.4, (40, 90), 0.35,
       "chest_pain .9,pain_radiating_arm_jaw .6,sweating .65,shortness_of_breath .55,"
       "nausea .45,hypertension_history .6,smoking .45,diabetes_history .3,"
       "high_cholesterol .5,heart_disease_history .3,test_ecg_ischemia .7,"
       "test_troponin_high .95,fatigue .3,syncope .1"),
    _c("stable_angina", "Stable angina", "angina|stable angina|angina pectoris|"
       "coronary artery disease|chronic coronary syndrome", 0.6, (45, 90), 0.4,
       "chest_pain .95,exertional_symptoms .9,pain_radiating_arm_jaw .4,"
       "shortness_of_breath .4,recurrent_episodes .8,hypertension_history .6,smoking .4,"
       "high_cholesterol .55,diabetes_history .25,test_ecg_ischemia .2,test_troponin_high .03"),
    _c("heart_failure", "Heart failure", "heart failure|congestive heart failure|chf|"
       "cardiac failure|hf", 0.6, (55, 95), 0.45,
       "shortness_of_breath .95,orthopnea .7,leg_swelling .8,fatigue .75,exertional_symptoms .7,"
       "weight_gain .5,cough .3,heart_disease_history .6,hypertension_history .65,"
       "exam_crackles .6,exam_raised_jvp .6,test_high_bnp .95,test_cxr_infiltrate .3"),
    _c("pulmonary_embolism", "Pulmonary embolism", "pulmonary embolism|pe|"
       "pulmonary embolus|lung clot|blood clot in the lung", 0.3, (20, 85), 0.55,
       "shortness_of_breath .85,pleuritic_pain .6,chest_pain .5,exam_tachycardia .7,"
       "calf_pain .3,immobility .5,hormone_use .2,hemoptysis .15,syncope .15,cough .25,"
       "exam_low_oxygen .6,test_d_dimer_high .97,test_ctpa_clot .95,sweating .2"),
    _c("dvt", "Deep vein thrombosis", "dvt|deep vein thrombosis|deep venous thrombosis|"
       "blood clot in the leg|leg clot", 0.4, (20, 85), 0.55,
       "calf_pain .85,leg_swelling .8,exam_unilateral_calf_swelling .85,skin_redness .3,"
       "immobility .55,hormone_use .25,test_d_dimer_high .95,test_doppler_dvt .95,"
       "obesity .3"),
    _c("type2_diabetes", "Type 2 diabetes mellitus", "diabetes|type 2 diabetes|t2dm|"
       "diabetes mellitus|type ii diabetes|hyperglycemia|dm2", 1.0, (30, 85), 0.5,
       "polyuria .8,polydipsia .8,fatigue .6,blurred_vision .35,weight_loss .3,obesity .7,"
       "test_high_glucose .97,urinary_frequency .3,diabetes_history .05"),
    _c("hypothyroidism", "Hypothyroidism", "hypothyroidism|underactive thyroid|"
       "hashimoto|hashimoto's thyroiditis|low thyroid", 0.8, (25, 85), 0.8,
       "fatigue .85,weight_gain .65,cold_intolerance .65,constipation .5,dry_skin_hair .6,"
       "low_mood .35,poor_concentration .35,test_tsh_high .97,exam_goiter .3,family_thyroid .4"),
    _c("hyperthyroidism", "Hyperthyroidism", "hyperthyroidism|overactive thyroid|"
       "graves disease|graves' disease|thyrotoxicosis", 0.4, (20, 70), 0.8,
       "weight_loss .75,palpitations .75,heat_intolerance .7,tremor .65,sweating .5,"
       "excessive_worry .45,diarrhea .3,sleep_disturbance .5,fatigue .4,exam_tachycardia .75,"
       "exam_goiter .6,test_tsh_low .97,family_thyroid .4"),
    _c("iron_deficiency_anemia", "Iron deficiency anemia", "anemia|anaemia|iron deficiency|"
       "iron deficiency anemia|iron deficiency anaemia|low iron", 1.0, (15, 85), 0.75,
       "fatigue .9,pale_skin .6,shortness_of_breath .45,exertional_symptoms .4,"
       "heavy_periods .5,palpitations .3,vertigo .25,headache .2,"
       "exam_pale_conjunctiva .6,test_low_hemoglobin .97,test_low_ferritin .95,melena .1"),
    _c("depression", "Major depressive disorder", "depression|major depression|"
       "major depressive disorder|clinical depression|mdd", 1.5, (15, 80), 0.65,
       "low_mood .95,anhedonia .85,sleep_disturbance .75,fatigue .8,poor_concentration .6,"
       "poor_appetite .5,weight_loss .25,stress .5,recurrent_episodes .4,"
       "test_depression_screen .9"),
    _c("anxiety", "Generalized anxiety disorder", "anxiety|generalized anxiety disorder|"
       "gad|generalised anxiety disorder|anxiety disorder|panic disorder", 1.5, (15, 70), 0.65,
       "excessive_worry .95,sleep_disturbance .65,poor_concentration .55,palpitations .45,"
       "fatigue .5,stress .65,tremor .2,sweating .3,shortness_of_breath .2,"
       "recurrent_episodes .5,exam_tachycardia .3"),
    _c("cellulitis", "Cellulitis", "cellulitis|skin infection|soft tissue infection", 0.8,
       (15, 90), 0.5,
       "skin_redness .95,skin_break .55,fever .4,exam_warm_erythema .9,leg_swelling .4,"
       "chills .2,test_high_crp .6,test_high_wbc .5,diabetes_history .2,obesity .3"),
    _c("gout", "Gout", "gout|gouty arthritis|acute gout|podagra", 0.6, (30, 85), 0.2,
       "acute_monoarthritis .9,joint_pain .95,exam_hot_joint .9,alcohol .5,"
       "recurrent_episodes .55,obesity .4,hypertension_history .4,test_high_uric_acid .7,"
       "test_joint_crystals .85,fever .15"),
    _c("osteoarthritis", "Osteoarthritis", "osteoarthritis|oa|degenerative joint disease|"
       "wear and tear arthritis|arthritis", 1.2, (45, 95), 0.6,
       "joint_pain .95,morning_stiffness .7,exam_crepitus .75,obesity .45,"
       "test_knee_xray_oa .9,recurrent_episodes .5,exertional_symptoms .4"),
    _c("low_back_strain", "Mechanical low back pain", "back strain|low back pain|"
       "mechanical back pain|lumbar strain|muscle strain|lumbago|back sprain", 2.0, (18, 75),
       0.5,
       "back_pain .98,pain_after_lifting .6,morning_stiffness .3,recurrent_episodes .4,"
       "exam_straight_leg_raise .15,obesity .3"),
    _c("otitis_media", "Acute otitis media", "otitis media|ear infection|middle ear infection|"
       "aom|acute otitis media", 1.0, (1, 40), 0.5,
       "ear_pain .95,fever .55,recent_cold .6,exam_red_eardrum .9,runny_nose .35,"
       "poor_appetite .3"),
    _c("conjunctivitis", "Conjunctivitis", "conjunctivitis|pink eye|eye infection", 1.0,
       (2, 80), 0.5,
       "red_eye .97,eye_discharge .8,itching .5,exam_conjunctival_injection .95,"
       "sick_contacts .3,recent_cold .3"),
    _c("bppv", "Benign paroxysmal positional vertigo", "bppv|positional vertigo|"
       "benign positional vertigo|benign paroxysmal positional vertigo", 0.6, (35, 90), 0.65,
       "vertigo .97,positional_trigger .9,nausea .5,recurrent_episodes .5,"
       "exam_dix_hallpike .85,vomiting .15"),
)
# fmt: on


def default_table() -> ConditionTable:
    """The built-in table: the findings and conditions above, validated."""
    return ConditionTable(FINDINGS, CONDITIONS)
