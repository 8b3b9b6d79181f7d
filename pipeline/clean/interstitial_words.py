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

# What a consent wall calls itself in its title or heading (all of it but the site's name).
CONSENT_HEADING = _words(r"""
    before you continue(?: to .{1,40})? | we (?:value|care about|respect) your privacy
    your privacy(?: choices| matters| settings| is (?:important to us|our priority))?
    privacy (?:settings|preferences|choices) | cookie (?:consent|settings|preferences|notice)
    cookies? (?:and|&) privacy | bevor sie fortfahren | this (?:web)?site uses cookies
    diese (?:web)?(?:site|seite) (?:verwendet|nutzt) cookies | ce site utilise des cookies
    este sitio(?: web)? (?:utiliza|usa) cookies | questo sito (?:utilizza|usa) (?:i )?cookie
    deze (?:web)?site gebruikt cookies
    (?:cookie|datenschutz|privatsphäre)-?einstellungen | wir verwenden cookies
    ihre privatsphäre(?: ist uns wichtig)? | datenschutzhinweis
    (?:le )?respect de votre vie privée(?: est (?:notre priorité|important pour nous))?
    nous respectons votre vie privée | gestion des cookies
    votre vie privée(?: est (?:notre priorité|importante pour nous))?
    paramètres (?:des cookies|de confidentialité) | avant de continuer
    tu privacidad(?: es (?:importante(?: para nosotros)?|nuestra prioridad))?
    respetamos tu privacidad | configuración de (?:cookies|privacidad) | antes de continuar
    la (?:tua|vostra) privacy(?: è importante(?: per noi)?)? | rispettiamo la tua privacy
    (?:uw|jouw) privacy(?: is belangrijk(?: voor ons)?)? | cookie-?instellingen
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

# Words a wall's heading may open with besides its wording ("Oops! Page not found",
# "Fehler: Seite nicht gefunden"), taken off before the heading is compared with it.
HEADING_FILLER = re.compile(
    r"^(?:oops|whoops|sorry|uh[- ]?oh|oh no|hoppla|huch|ups|oups|oh non|mince|désolée?|vaya"
    r"|lo sentimos|ops|ci dispiace|spiacenti|oeps|helaas|error|fehler|erreur|errore|fout)"
    r"(?!\w)[\s!,.…:]*",
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
    un (?:instant|moment)(?:,? s['’]il vous pla[iî]t)?\W* | accès refusé | vérification de sécurité
    un momento(?:,? por favor|,? per favore)?\W* | acceso denegado | verificación de seguridad
    accesso negato | controllo di sicurezza | toegang geweigerd | beveiligingscontrole
    even geduld(?: a\.u\.b\.| alstublieft)?\W*
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

# An error page's heading is its status, its words, or both ("404 Page Not Found").
_ERROR_404 = r"(?:(?:error|fehler|erreur|errore|fout|http) ?)?404(?: error| fehler| erreur)?"
_NOT_FOUND_WORDS = "|".join(
    _listed(r"""
    (?:the )?page (?:was )?(?:not found|introuvable|non trouvée) | not found
    (?:this |that |the )?page (?:cannot|can['’]t|could not|couldn['’]t) be found
    (?:this |that )?page (?:does not|doesn['’]t) exist | nicht gefunden
    (?:die |diese )?seite (?:wurde )?(?:leider )?nicht gefunden
    (?:diese )?seite existiert (?:leider )?nicht(?: mehr)? | (?:la )?page non trouvée
    (?:cette )?page n['’]existe (?:pas|plus) | (?:la )?página no encontrada | no encontrada
    (?:esta )?página no existe | (?:la )?pagina non trovata | (?:questa )?pagina non esiste
    (?:de )?pagina niet gevonden | niet gevonden | (?:deze )?pagina bestaat niet(?: meer)?
""")
)
NOT_FOUND_HEADING = _words(
    "\n".join(
        [
            rf"{_ERROR_404}(?: page| seite)?",
            rf"(?:{_ERROR_404}\W{{1,3}})?(?:{_NOT_FOUND_WORDS})(?:\W{{1,3}}\(?{_ERROR_404}\)?)?",
        ]
    )
)
# What an error page says of the page it could not find.
NOT_FOUND_PHRASE = _words(r"""
    the page you(?:['’]re| are| were)? (?:looking for|requested|tried to (?:access|reach))
    (?:this |that |the )?page (?:does not|doesn['’]t|no longer) exists?
    (?:we )?(?:could not|couldn['’]t|can(?:no|['’])t) find (?:the|that|this) page
    die (?:von ihnen )?(?:angeforderte|gesuchte|aufgerufene) seite
    (?:seite|inhalt) (?:wurde )?(?:leider )?nicht gefunden
    (?:diese |die )?seite existiert (?:leider )?nicht(?: mehr)?
    la page (?:que vous (?:recherchez|demandez|cherchez)|demandée)
    (?:cette |la )?page (?:n['’]existe (?:pas|plus)|est introuvable)
    la página que (?:buscas|estás buscando|has solicitado|busca) | (?:esta |la )?página no existe
    la pagina che (?:stai cercando|hai richiesto|cerchi) | (?:questa |la )?pagina non esiste
    de pagina die (?:je|u) (?:zoekt|probeert te bereiken|zocht) | (?:deze |de )?pagina bestaat niet
""")
# Everyday words that an error page says too, as does any story ("Eine Spur existiert nicht"):
# they back the error's own heading, never stand for it.
NOT_FOUND_EVERYDAY = _words(r"""
    existiert (?:leider )?nicht(?: mehr)? | n['’]existe (?:pas|plus) | est introuvable
    no existe | non esiste(?: più)? | bestaat niet(?: meer)?
""")
# The error's status in the markup: the class of a 404 page's <body>, or the status a page's
# scripts are given ("statusCode":404, a prerender-status-code <meta>).
NOT_FOUND_BODY = re.compile(r"<body\b[^>]*>", re.I)
NOT_FOUND_CLASS = re.compile(
    r"""\bclass\s*=\s*["']?[^"'>]*(?<![\w-])(?:error-?404|page-?404|not-?found)(?![\w-])""", re.I
)
NOT_FOUND_STATUS = re.compile(
    r"""status(?:Code|_code|-code)["']?\s*(?::|\s+content\s*=)\s*["']?404\b"""
)

# --- what a story's page says about itself ------------------------------------------------

# Kinds of page that are a story, in JSON-LD ("@type") and in microdata (itemtype). These
# patterns, like the ones below, open with a literal, case and all, to search a page quickly.
_STORY_TYPES = (
    r"(?:\w+)?NewsArticle|Article|BlogPosting|LiveBlogPosting|Report|ScholarlyArticle"
    r"|TechArticle|SocialMediaPosting|VideoObject|ImageGallery|MediaGallery"
)
STORY_TYPE = (
    re.compile(
        rf"\"@type\"\s*:\s*(?:\[[^\]]{{0,200}}?)?\"(?:https?://schema\.org/)?({_STORY_TYPES})\""
    ),
    re.compile(rf"itemtype\s*=\s*[\"']?https?://schema\.org/({_STORY_TYPES})\b"),
)
OG_TYPE = re.compile(r"<meta\b[^>]*[\"']og:type[\"'][^>]*>", re.I)
OG_STORY = re.compile(r"\bcontent\s*=\s*[\"']?\s*(article|video)\b", re.I)
# A publication date stated in markup: a <meta> name, a JSON-LD key or a microdata property,
# each quoted; or a <time> element marked as the publication's.
PUBLISHED = (
    re.compile(
        r"""["'](?:(?:og:)?article:published_time|date[Pp]ublished|dateCreated|uploadDate"""
        r"""|parsely-pub-date|article\.published|publish-?date|pubdate|PublishDate"""
        r"""|(?:DC|dc)\.date\.(?:issued|created)|(?:DCTERMS|dcterms)\.(?:issued|created))["']"""
    ),
    re.compile(r"""<time\b[^>]*(?:\bpubdate\b|\bclass\s*=\s*["'][^"']*\bpublished\b)"""),
)
# A JSON-LD author with a name.
AUTHOR = re.compile(r""""author"\s*:\s*\[?\s*\{[^{}]{0,300}?"name"\s*:\s*"\w""")

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
    NOT_FOUND_EVERYDAY,
)
