"""Real files from the shared corpus's ``tricky`` folder for the end-to-end table of
``test_bad_input.py``: binaries saved as HTML, compression as other crawlers' tests have it,
pages cut short, and charsets declared wrongly in real pages.
"""

from __future__ import annotations

from pathlib import Path

from tests.e2e.bad_inputs import HTML, Case
from tests.httpserver import Reply


def corpus_cases(corpus: Path) -> list[Case]:
    tricky = corpus / "tricky"

    def read(name: str) -> bytes:
        return (tricky / name).read_bytes()

    def served(name: str, headers: dict[str, str] | None = None) -> list[Reply]:
        return [Reply(200, read(name), HTML if headers is None else headers)]

    compressed = "scrapy-compressed/"
    charset = "real-charset/"
    return [
        Case(
            "/corpus/pdf", served("binary-as-html/encrypted.pdf.html"), reason="unsupported_content"
        ),
        Case(
            "/corpus/word97", served("binary-as-html/word97.doc.html"), reason="unsupported_content"
        ),
        Case(
            "/corpus/gif",
            served("binary-as-html/nutch_logo_tm.gif.html"),
            reason="unsupported_content",
        ),
        Case("/corpus/zip", served("binary-as-html/test.zip.html"), reason="unsupported_content"),
        Case(
            "/corpus/webpage-html-gz",
            served("odd/webpage.html.gz"),
            phrase="Long story short, Manchin could switch parties",
        ),
        Case(
            "/corpus/bomb-deflate",
            served(compressed + "bomb-deflate.bin", {**HTML, "Content-Encoding": "deflate"}),
            reason="too_large",
        ),
        Case(
            "/corpus/bomb-br",
            served(compressed + "bomb-br.bin", {**HTML, "Content-Encoding": "br"}),
            reason="too_large",
        ),
        Case(
            "/corpus/gzip-deflate-gzip",
            served(
                compressed + "html-gzip-deflate-gzip.bin",
                {**HTML, "Content-Encoding": "gzip, deflate, gzip"},
            ),
            phrase="Dies sind (leicht modifiziert und erweitert) Tabellen",
        ),
        Case(
            "/corpus/zstd",
            served(
                compressed + "html-zstd-streaming-no-content-size.bin",
                {**HTML, "Content-Encoding": "zstd"},
            ),
            phrase="Dies sind (leicht modifiziert und erweitert) Tabellen",
        ),
        Case(
            "/corpus/gzip-crc-error",
            served(compressed + "truncated-crc-error.gz", {**HTML, "Content-Encoding": "gzip"}),
            phrase="Royal Albert Hall",
        ),
        # Scrapy decodes this one with the cp1252 its test declares; the page is GBK Chinese.
        Case(
            "/corpus/gzip-eof-header-says-cp1252",
            served(compressed + "unexpected-eof.gz", {"Content-Type": "text/html; charset=cp1252"}),
            phrase="天运大陆，赤云国皇宫之中",
        ),
        Case(
            "/corpus/guardian-cut-in-head",
            served("truncated-derived/TheGuardian_0.cut-in-head.html"),
            reason="empty_document",
            stage="clean",
        ),
        Case(
            "/corpus/guardian-cut-in-script",
            served("truncated-derived/TheGuardian_0.cut-in-script.html"),
            reason="empty_document",
            stage="clean",
        ),
        Case(
            "/corpus/not-an-article",
            served("odd/utf8.html"),
            reason="empty_document",
            stage="clean",
        ),
        Case(
            "/corpus/says-gb2312-is-utf8",
            served(
                charset + "charset-declared-wrong/test__test-pages__qq__source.html",
                {"Content-Type": "text/html; charset=gb2312"},
            ),
            phrase="谷歌(微博) 在2014年收购的人工智能公司DeepMind",
        ),
        Case(
            "/corpus/says-shift-jis-is-utf8",
            served(charset + "charset-declared-wrong/fixtures__jvndb.jvn.jp.html"),
            phrase="証明書・パスワードの管理に関する脆弱性",
        ),
        Case(
            "/corpus/gb2312-header-says-latin1",
            served(
                charset + "legacy-charset/tests__eval__archive.org.he.xinhuanet.com.25340717.html",
                {"Content-Type": "text/html; charset=iso-8859-1"},
            ),
            phrase="话剧《约定无期限》",
        ),
        Case(
            "/corpus/windows-1250",
            served(
                charset
                + "legacy-charset/tests__eval__Unijne_fundusze_coraz_bli_ej._Sejm_zag_osowa__za__-_Polityka_-_rp.pl.html"
            ),
            phrase="Nie ma miejsca na kłótnie.",
        ),
        Case(
            "/corpus/utf8-with-latin1-bytes",
            served(
                charset
                + "declared-utf8-invalid-bytes/tests__eval__der-erfolg-gibt-recht.de.rinderleber.html"
            ),
            phrase="So schön winterlich ist es wie schon lange nicht mehr.",
        ),
        Case(
            "/corpus/euc-kr-plain-text",
            served("chardet/EUC-KR/_ude_euc2.txt", {"Content-Type": "text/plain"}),
            phrase="북조선 사람들은 흔히 자국을 조선(朝鮮)이나 공화국(共和國)이라고 부른다.",
        ),
    ]
