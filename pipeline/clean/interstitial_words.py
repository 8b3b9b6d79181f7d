"""The words and markup that give an interstitial page away, in English, German, French,
Spanish, Italian and Dutch: consent walls, paywall stubs, bot challenges, "enable JavaScript"
shells and "page not found" pages.

Patterns only, apart from the rules that weigh them (:mod:`pipeline.clean.interstitials`), so
that adding a language's words touches no rule. Each phrase is one a wall says about itself
("subscribe to continue reading"), not a word any article on the subject would use
("subscription"); articles quote such phrases too, which is why no rule trusts one alone.
Phrases are written a few to a line, separated by " | ", English first.
"""

from __future__ import annotations

import re

_ALTERNATIVES: dict[re.Pattern[str], str] = {}


def _listed(phrases: str) -> tuple[str, ...]:
    """The phrases written a few to a line, separated by " | "."""
    found = (part.strip() for line in phrases.splitlines() for part in line.split(" | "))
    return tuple(phrase for phrase in found if phrase)


def _words(phrases: str) -> re.Pattern[str]:
    """Any of the phrases, as whole words, in any case."""
    inner = "|".join(_listed(phrases))
    # One boundary around all alternatives, not one each: the look-behind fails fast inside
    # words, which is what keeps searching a long page cheap.
    pattern = re.compile(rf"(?<!\w)(?:{inner})(?!\w)", re.I)
    _ALTERNATIVES[pattern] = inner
    return pattern


def _either(*patterns: re.Pattern[str]) -> re.Pattern[str]:
    return _words("\n".join(_ALTERNATIVES[pattern] for pattern in patterns))


# --- consent walls ---------------------------------------------------------------------------

# Each names one thing a consent notice states; a wall states several of them at once.
_CONSENT_IDEAS: dict[str, re.Pattern[str]] = {
    "we use cookies": _words(r"""
        we(?: and our (?:\d+ )?(?:partners|vendors))? use cookies | this (?:web)?site uses cookies
        wir(?: und unsere (?:\d+ )?partner)? (?:verwenden|nutzen|setzen) cookies
        diese (?:web)?(?:site|seite) (?:verwendet|nutzt) cookies
        nous(?: et nos partenaires)? utilisons des (?:cookies|traceurs)
        ce site utilise des (?:cookies|traceurs)
        (?:utilizamos|usamos) cookies | este sitio(?: web)? (?:utiliza|usa) cookies
        (?:utilizziamo|usiamo) (?:i )?cookie | questo sito (?:utilizza|usa) (?:i )?cookie
        (?:wij|we) gebruiken cookies | deze (?:web)?site gebruikt cookies
    """),
    "consent": _words(r"""
        consent | einwilligung | zustimmung | consentement | consentimiento | consenso
        toestemming
    """),
    "partners": _words(r"""
        (?:our|unsere[nr]?|onze) (?:\d+ )?(?:partners?|vendors|partnern?)
        (?:nos|nuestros|i nostri) (?:\d+ )?(?:partenaires|socios|fornitori|partner)
        (?:our|unsere[nr]?) (?:advertising |werbe)partnern?
        third[- ]part(?:y|ies) | drittanbieter(?:n)? | (?:sites|cookies|partenaires) tiers
        (?:cookies )?de terceros | terze parti | derden
    """),
    "personal data": _words(r"""
        personal data | personenbezogene(?:n|r)? daten | données personnelles
        données à caractère personnel | datos personales | dati personali | persoonsgegevens
    """),
    "information on a device": _words(r"""
        (?:store|access)(?: and/or access)? information on (?:a|your) device
        informationen auf (?:einem|ihrem) (?:gerät|endgerät)
        informations sur (?:un|votre) (?:appareil|terminal)
        información en (?:un|su) dispositivo | informazioni su (?:un|il tuo) dispositivo
        informatie op (?:een|uw|je) apparaat
    """),
    "legitimate interest": _words(r"""
        legitimate interests? | berechtigte(?:n|s)? interesse(?:n|s)? | intérêt légitime
        interés legítimo | legittimo interesse | gerechtvaardigd belang
    """),
    "personalised ads": _words(r"""
        personali[sz]ed (?:ads|advertising|content) | ad(?:s| and content) measurement
        audience insights | personalisierte(?:n)? (?:werbung|anzeigen|inhalte)
        publicités? personnalisées? | contenus? personnalisés? | mesure d['’]audience
        anuncios personalizados | annunci personalizzati | pubblicità personalizzata
        gepersonaliseerde advertenties
    """),
    "privacy policy": _words(r"""
        privacy (?:policy|notice|statement) | cookie policy | datenschutzerklärung
        datenschutzhinweise(?:n)? | datenschutzrichtlinie | cookie-richtlinie
        politique (?:de confidentialité|(?:relative aux|de|des) cookies)
        política de (?:privacidad|cookies) | informativa (?:sulla )?(?:privacy|cookie)
        privacybeleid | cookiebeleid | privacyverklaring | cookieverklaring
    """),
    # The notice asks for a choice: this stands in for a button a page may draw in a script.
    "a choice to make": _words(r"""
        by clicking | click(?:ing)? (?:on )?["“]?(?:accept|agree|i agree)
        (?:withdraw|change|manage) (?:your )?(?:consent|choices|preferences)
        indem sie (?:auf )?["„“][^"“”]{1,30}["“”] klicken | klicken sie auf
        (?:durch|mit) (?:dem |einem )?klick(?:en)? auf | jederzeit (?:widerrufen|ändern|anpassen)
        en cliquant sur | (?:retirer|modifier) (?:votre consentement|vos choix)
        al (?:hacer|pulsar) clic | haciendo clic | cliccando | facendo clic
        klik op | door (?:op )?["“'‘]?[\w ]{1,20}["”'’]? te klikken
    """),
}
CONSENT_IDEA_NAMES = tuple(_CONSENT_IDEAS)
# All of them in one pattern, one named group each, so that a page is searched once.
CONSENT_IDEA = re.compile(
    r"(?<!\w)(?:"
    + "|".join(f"(?P<idea{i}>{_ALTERNATIVES[p]})" for i, p in enumerate(_CONSENT_IDEAS.values()))
    + r")(?!\w)",
    re.I,
)

# Stems one of which any consent notice's opening holds, in lower case: a plain substring test
# lets a long article's opening through in microseconds, before any pattern is tried.
CONSENT_STEMS = _listed("""
    cookie | consent | einwillig | zustimm | datenschutz | privacy | vie privée | confidentialit
    privacidad | consentimiento | consenso | toestemming | partner | traceurs | personal data
    personenbezogen | données personnelles | datos personales | dati personali | persoonsgegevens
""")

# What a consent wall calls itself in its title or heading (the whole heading, or most of it).
CONSENT_HEADING = _words(r"""
    before you continue(?: to .{1,40})? | we (?:value|care about|respect) your privacy
    your privacy(?: choices| matters| settings)? | privacy (?:settings|preferences|choices)
    cookie (?:consent|settings|preferences|notice) | cookies? (?:and|&) privacy
    bevor sie fortfahren | (?:cookie|datenschutz|privatsphäre)-?einstellungen
    wir verwenden cookies | ihre privatsphäre(?: ist uns wichtig)? | datenschutzhinweis
    (?:le )?respect de votre vie privée | votre vie privée | gestion des cookies
    paramètres (?:des cookies|de confidentialité) | avant de continuer
    tu privacidad | configuración de (?:cookies|privacidad) | antes de continuar
    la (?:tua|vostra) privacy | (?:uw|jouw) privacy | cookie-?instellingen
""")

# Buttons of a consent notice, matched against a whole button label.
CONSENT_BUTTON = re.compile(
    r"(?:i )?accept(?: all| all cookies| cookies| and close| & close| and continue)?"
    r"|(?:i )?agree(?: and (?:close|continue|proceed))?|allow all(?: cookies)?"
    r"|reject all(?: cookies)?|decline all"
    r"|(?:alle(?:s)? )?akzeptieren(?: und (?:schließen|weiter))?|alle(?: cookies)? zulassen"
    r"|zustimmen(?: und weiter)?|(?:ich )?stimme zu|einverstanden|alle ablehnen"
    r"|tout accepter|accepter(?: et (?:fermer|continuer))?|j['’]accepte|tout refuser"
    r"|continuer sans accepter|aceptar(?: todo| todas| cookies| y (?:cerrar|continuar))?"
    r"|acepto|rechazar todo|accetta(?: tutto| tutti| e chiudi)?|accetto|rifiuta tutto"
    r"|alles accepteren|accepteren|akkoord|alles weigeren",
    re.I,
)

# --- paywall stubs ---------------------------------------------------------------------------

# The wall's own call: the rest of this story is for subscribers.
PAYWALL_CALL = _words(r"""
    subscribe(?: now| today)? to (?:continue|keep) reading
    (?:to|and) (?:continue|keep) reading,? (?:please )?(?:subscribe|sign in|log in|register)
    subscribe to (?:read|unlock|access) (?:the full|this|the rest)
    (?:to )?read the (?:full|whole|rest of the) (?:story|article)[\s,.:]*(?:subscribe|sign in)
    (?:this|the) (?:article|story) is (?:only )?(?:available|reserved) (?:to|for) subscribers
    unlock (?:this|the full) (?:article|story)
    you(?:['’]ve| have) (?:reached|used) your (?:\w+ )?free (?:article|stor(?:y|ie))s? limit
    (?:jetzt )?(?:weiterlesen|weiter lesen|lesen sie weiter) mit
    (?:jetzt )?abonnieren und weiterlesen
    um (?:den|diesen) (?:ganzen |vollständigen )?(?:artikel|beitrag) (?:zu lesen|weiterzulesen)
    (?:dieser|der) (?:artikel|beitrag|inhalt) ist (?:nur |exklusiv )?für (?:\w+-)?abonnent
    abonnez-vous pour (?:lire|continuer|accéder|poursuivre)
    il vous reste \d+ ?% de (?:cet|l['’]) article | la suite (?:de cet article )?est réservée
    suscr[íi]bete para (?:seguir|continuar) leyendo
    para (?:seguir|continuar) leyendo,? suscr[íi]bete
    abbonati per (?:continuare a )?leggere | per continuare a leggere,? abbonati
    lees verder met | om (?:dit|het hele) artikel (?:verder )?te lezen
""")
# Furniture of an offer that sites also keep in their header or on labels: it backs a call,
# never stands for one.
PAYWALL_OFFER = _words(r"""
    already (?:a subscriber|subscribed|have a subscription)
    exclusive(?:ly)? (?:for|to) subscribers | nur für abonnent(?:en|innen)
    exklusiv für (?:\w+-)?abonnent(?:en|innen) | (?:sie sind )?bereits abonnent(?:in)?
    réservée? aux abonnés | déjà abonnée? | ya eres suscriptora?
    (?:exclusivo|solo) para suscriptores | sei già abbonato | riservat[oa] agli abbonati
    (?:word|wordt) abonnee | al (?:een )?abonnee | alleen voor abonnees
""")
PAYWALL_WORDING = _either(PAYWALL_CALL, PAYWALL_OFFER)

# Declared by the page: the story is not free (JSON-LD or microdata).
NOT_FREE = re.compile(r"""isAccessibleForFree["']?\s*(?::|content\s*=)\s*["']?false""", re.I)
# Markup that holds a paywall: class or id names, in the words CMSs use for it.
PAYWALL_MARKUP = re.compile(
    r"""(?:class|id)\s*=\s*["'][^"'>]*?(?:pay-?wall|reg-?wall|subscribers?-only|content-?gate"""
    r"""|article-?lock|premium-?(?:wall|lock|gate)|abo-?wall|plus-?wall)""",
    re.I,
)

# --- bot challenges --------------------------------------------------------------------------

CHALLENGE_HEADING = _words(r"""
    just a moment\W* | one moment,? please\W* | attention required!? | access denied
    access to this page has been denied | security check | human verification | captcha
    (?:are you a robot|are you human)\?? | checking your browser | bot (?:check|protection)
    verify(?:ing)? (?:that )?you are (?:a )?human | ddos protection
    einen moment,? bitte\W* | sicherheitsüberprüfung | zugriff verweigert
    un (?:instant|moment)\W* | accès refusé | vérification de sécurité
    un momento\W* | acceso denegado | verificación de seguridad | accesso negato
    controllo di sicurezza | toegang geweigerd | even geduld | beveiligingscontrole
""")
CHALLENGE_PHRASE = _words(r"""
    checking (?:if|whether) the site connection is secure
    needs to review the security of your connection | checking your browser
    verify (?:that )?you are (?:a )?human | (?:i['’]m|i am) not a robot
    (?:confirm|prove) (?:that )?you(?:['’]re| are) (?:a )?(?:human|not a robot)
    unusual (?:traffic|activity) from your (?:computer|network|device)
    automated (?:queries|requests|traffic|access) | complete the (?:security check|captcha)
    press (?:and|&) hold | enable javascript and cookies to continue
    you don['’]t have permission to access
    dass sie kein roboter sind | ich bin kein roboter | sicherheitsüberprüfung
    ungewöhnlichen? (?:datenverkehr|aktivitäten?)
    je ne suis pas un robot | (?:que )?vous n['’]êtes pas un robot | trafic inhabituel
    no soy un robot | tráfico inusual | non sono un robot | traffico insolito
    geen robot | ongebruikelijk verkeer
""")
# A captcha widget, or a challenge vendor's form or script, in a tag's attributes.
CHALLENGE_MARKUP = re.compile(
    r"<(?:script|form|iframe|div|input)\b[^>]*?(captcha|challenge-|turnstile)[^>]*>", re.I
)

# --- JavaScript shells -----------------------------------------------------------------------

JAVASCRIPT_PHRASE = _words(r"""
    (?:enable|turn on|activate|allow) javascript | requires? javascript
    javascript (?:is )?(?:required|disabled|must be enabled|needs to be enabled)
    need(?:s)? (?:to have )?javascript
    javascript (?:aktivieren|einschalten) | aktivieren sie (?:bitte )?javascript
    javascript ist deaktiviert | (?:benötigt|erfordert) javascript
    activ(?:er|ez) (?:le )?javascript | javascript est désactivé | nécessite javascript
    (?:habilita|activa)(?:r)? (?:el )?javascript | (?:attiva|abilita)(?:re)? javascript
    javascript (?:inschakelen|aanzetten) | schakel javascript in
""")
# A script the page loads, or a module it runs.
SCRIPT = re.compile(r"""<script\b[^>]*\b(?:src\s*=|type\s*=\s*["']?module)""", re.I)
# The empty element a script-rendered app mounts itself in.
APP_ROOT = re.compile(
    r"""<(?:div|main|section)\b[^>]*\bid\s*=\s*["'](?:root|app|__next|__nuxt|___gatsby"""
    r"""|app-root|application|main-app|react-root)["'][^>]*>\s*(?:loading\W*)?\s*</"""
    r"""|<app-root\b[^>]*>\s*</app-root>""",
    re.I,
)

# --- "page not found" --------------------------------------------------------------------------

NOT_FOUND_HEADING = _words(r"""
    (?:error |fehler |erreur |errore |fout )?404(?: error)?(?: page)?
    page (?:not found|introuvable|non trouvée) | (?:this |that )?page (?:cannot|can['’]t) be found
    not found | seite (?:wurde )?nicht gefunden | nicht gefunden
    diese seite existiert (?:leider )?nicht | cette page n['’]existe pas
    página no encontrada | no encontrada | pagina non trovata | pagina niet gevonden
    niet gevonden
""")
NOT_FOUND_PHRASE = _words(r"""
    the page you(?:['’]re| are| were)? (?:looking for|requested|tried to (?:access|reach))
    (?:this |that |the )?page (?:does not|doesn['’]t|no longer) exists?
    (?:we )?(?:could not|couldn['’]t|can(?:no|['’])t) find (?:the|that|this) page
    die (?:von ihnen )?(?:angeforderte|gesuchte|aufgerufene) seite
    (?:seite|inhalt) (?:wurde )?(?:leider )?nicht gefunden | existiert (?:leider )?nicht(?: mehr)?
    la page (?:que vous (?:recherchez|demandez|cherchez)|demandée)
    n['’]existe (?:pas|plus) | est introuvable
    la página que (?:buscas|estás buscando|has solicitado|busca) | no existe
    la pagina che (?:stai cercando|hai richiesto|cerchi) | non esiste(?: più)?
    de pagina die (?:je|u) (?:zoekt|probeert te bereiken|zocht) | bestaat niet(?: meer)?
""")

# Any consent wording; and any wall's wording at all, to tell story from wall in a body.
ANY_CONSENT = _either(*_CONSENT_IDEAS.values(), CONSENT_HEADING)
ANY_WALL = _either(
    ANY_CONSENT,
    PAYWALL_WORDING,
    CHALLENGE_HEADING,
    CHALLENGE_PHRASE,
    JAVASCRIPT_PHRASE,
    NOT_FOUND_HEADING,
    NOT_FOUND_PHRASE,
)
