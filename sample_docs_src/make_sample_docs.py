"""Generate ragkit's binary sample documents and test fixtures.

This script (re)creates the files that cannot be hand-edited as text:

* ``sample_docs/employee_handbook.pdf``      6-page handbook, one section per page
* ``sample_docs/board_minutes_2026_q3.docx`` board minutes with one table
* ``tests/fixtures/bad/corrupt.pdf``         truncated, garbled PDF
* ``tests/fixtures/bad/encrypted.pdf``       1-page PDF, user password "secret"
* ``tests/fixtures/bad/empty.txt``           0 bytes
* ``tests/fixtures/bad/binary.pdf``          4 KiB of seeded random bytes
* ``tests/fixtures/good/notes.txt``          plain text with one known fact

The two Markdown documents in ``sample_docs/`` (``it_security_policy.md`` and
``差旅报销制度.md``) are written by hand and are only read by ``--check``.
The expected questions and answers live in ``docs/sample_questions.md``.

Requirements: fpdf2 is a dev-only document generator, not a ragkit dependency;
python-docx, pypdf and cryptography are also ragkit runtime dependencies (its
parsers). Install them into a throwaway virtual environment outside the
repository::

    python3 -m venv /tmp/docgen
    /tmp/docgen/bin/pip install fpdf2 python-docx pypdf cryptography
    /tmp/docgen/bin/python sample_docs_src/make_sample_docs.py          # generate
    /tmp/docgen/bin/python sample_docs_src/make_sample_docs.py --check  # verify

``cryptography`` is needed for the AES-256 encryption of ``encrypted.pdf``;
without it the script falls back to RC4-128. The PDF uses the core Helvetica
font, so all handbook text must be plain ASCII (no curly quotes or dashes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DOCS_DIR = REPO_ROOT / "sample_docs"
BAD_DIR = REPO_ROOT / "tests" / "fixtures" / "bad"
GOOD_DIR = REPO_ROOT / "tests" / "fixtures" / "good"

COMPANY = "Northwind Analytics Ltd."
FIXED_DATE = dt.datetime(2026, 1, 5, 9, 0, 0, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Section:
    """One handbook section; each section is rendered on its own page."""

    title: str
    blocks: tuple[tuple[str | None, str], ...]  # (sub-heading or None, paragraph)


HANDBOOK: tuple[Section, ...] = (
    Section(
        "1. Welcome and Working Hours",
        (
            (
                "Welcome to Northwind Analytics",
                (
                    "Welcome to Northwind Analytics Ltd. Since our founding in Dublin in 2014 we "
                    "have grown to around 240 people working from offices in Dublin, Berlin, "
                    "Oslo and Shanghai. We help retailers, energy companies and public bodies "
                    "turn their data into decisions, and we do that best when people know what "
                    "to expect from us and what we expect from them. This handbook explains the "
                    "rules and benefits that apply to every employee."
                ),
            ),
            (
                "About this handbook",
                (
                    "This is version 4.2 of the handbook, effective 1 January 2026. It applies to "
                    "all employees of Northwind Analytics Ltd. Local addenda for the Berlin and "
                    "Shanghai offices cover topics where national law differs, and the Shanghai "
                    "office has its own travel expense policy. The handbook is owned by People "
                    "Operations; questions and suggestions can be sent to "
                    "people@northwind-analytics.example. Where this handbook and your employment "
                    "contract differ, your contract takes precedence."
                ),
            ),
            (
                "Working hours",
                (
                    "The standard working week is 37.5 hours, Monday to Friday. We work flexibly: "
                    "you may start at any time between 07:30 and 10:00, as long as you are "
                    "available during our core hours of 10:00 to 16:00. Each working day includes "
                    "an unpaid lunch break of 30 minutes. Please keep your calendar up to date so "
                    "that colleagues can see when you are available."
                ),
            ),
            (
                "Overtime and time off in lieu",
                (
                    "Overtime must be agreed with your line manager in advance. Approved overtime "
                    "is compensated as time off in lieu (TOIL) at a rate of one hour for each hour "
                    "worked, and TOIL must be taken within three months. Employees on client "
                    "projects record their hours in TimeTrack by 17:00 every Friday so that we can "
                    "invoice our clients correctly."
                ),
            ),
            (
                "Public holidays",
                (
                    "Employees are entitled to the public holidays of the country in which their "
                    "contractual office is located. If you are asked to work on a public holiday, "
                    "you receive a replacement day off."
                ),
            ),
        ),
    ),
    Section(
        "2. Annual Leave",
        (
            (
                "Entitlement",
                (
                    "Full-time employees receive 25 days of paid annual leave per leave year, in "
                    "addition to public holidays. The leave year runs from 1 January to 31 "
                    "December. Part-time employees receive a pro rata entitlement based on their "
                    "contracted hours. After five years of continuous service your entitlement "
                    "rises to 27 days. New starters and leavers accrue leave pro rata for the part "
                    "of the year they are employed."
                ),
            ),
            (
                "Requesting leave",
                (
                    "All leave is requested in the HR portal, Compass. For absences of more than "
                    "three consecutive working days please submit your request at least two weeks "
                    "in advance. Your line manager will approve or decline the request within five "
                    "working days. Managers try to approve requests in the order they are received "
                    "and will consider project deadlines and team cover when deciding."
                ),
            ),
            (
                "Carrying over unused leave",
                (
                    "We want everyone to take their full entitlement. If you cannot take all of "
                    "your leave, you may carry over up to 5 unused days into the next leave year. "
                    "Carried-over days must be taken by 31 March; any carried-over days that are "
                    "still unused after that date lapse and are not paid out. Exceptions apply "
                    "only where leave could not be taken because of sick leave or parental leave, "
                    "and must be agreed with People Operations."
                ),
            ),
            (
                "Year-end closure",
                (
                    "All offices are closed between Christmas and New Year. Three days of your "
                    "annual leave entitlement are reserved for this closure period, and the exact "
                    "dates are announced in September each year."
                ),
            ),
            (
                "Special leave",
                (
                    "In addition to annual leave, employees may take paid special leave: five days "
                    "of bereavement leave on the death of a close family member, three days for "
                    "your own wedding or civil partnership, and one volunteering day per year for "
                    "a registered charity. Jury service is paid in full."
                ),
            ),
            (
                "Leaving the company",
                (
                    "When you leave Northwind, untaken leave for the current year is paid out with "
                    "your final salary. Leave taken in excess of your accrued entitlement is "
                    "deducted from the final payment."
                ),
            ),
        ),
    ),
    Section(
        "3. Sick Leave and Parental Leave",
        (
            (
                "Reporting sickness",
                (
                    "If you are unwell and cannot work, tell your line manager before 10:00 on "
                    "the first day of absence, by phone or by direct message. Please also record "
                    "the absence in Compass on the day you return. You may self-certify absences "
                    "of up to three consecutive working days. From the fourth working day of "
                    "absence a medical certificate from a doctor is required."
                ),
            ),
            (
                "Company sick pay",
                (
                    "Northwind pays full salary for up to 20 working days of sickness absence in "
                    "any rolling period of twelve months. After that, statutory sick pay applies. "
                    "After an absence of more than five working days your manager will hold a "
                    "short return-to-work conversation to agree any support you need, such as "
                    "reduced hours or adjusted duties."
                ),
            ),
            (
                "Maternity and adoption leave",
                (
                    "Employees are entitled to 26 weeks of maternity leave, of which the first 18 "
                    "weeks are paid at full salary; Northwind tops up any state benefit to your "
                    "normal pay. You may take up to 16 additional weeks of unpaid leave directly "
                    "afterwards. Adoption leave follows the same rules. Please inform People "
                    "Operations at least 12 weeks before the expected week of birth or placement."
                ),
            ),
            (
                "Paternity leave",
                (
                    "The partner of a birth mother or adopter receives four weeks of paternity "
                    "leave at full pay. Paternity leave can be taken in one or two blocks at any "
                    "time within the first six months after the birth or placement."
                ),
            ),
            (
                "Parental leave and keeping in touch",
                (
                    "Each parent may take up to 26 weeks of unpaid parental leave per child before "
                    "the child's 12th birthday, in blocks of at least one week. During maternity, "
                    "adoption or parental leave you may work up to ten paid keeping-in-touch days "
                    "if you and your manager both agree. On return you have the right to come back "
                    "to the same role, or to a similar role if your team has changed."
                ),
            ),
        ),
    ),
    Section(
        "4. Remote Work and Equipment",
        (
            (
                "Hybrid working",
                (
                    "Northwind is a hybrid company. Employees may work remotely for up to three "
                    "days per week. Each team agrees its own anchor days, and everyone is expected "
                    "in the office on at least two days per week. Fully remote contracts are "
                    "possible only by exception and need the approval of both the department head "
                    "and People Operations."
                ),
            ),
            (
                "Working from another country",
                (
                    "For tax and social security reasons you may work from a country other than "
                    "your contractual country for at most 20 working days per calendar year. "
                    "Requests must be submitted in Compass at least four weeks before the first "
                    "day abroad and are checked by People Operations and Finance."
                ),
            ),
            (
                "Equipment provided",
                (
                    "Every employee receives a company laptop, a monitor, a headset and a company "
                    "phone where the role requires one. Equipment remains the property of "
                    "Northwind and must be returned when you leave. Report any damage to the IT "
                    "service desk so that a replacement can be arranged quickly."
                ),
            ),
            (
                "Home office equipment allowance",
                (
                    "New employees receive a one-off home office equipment allowance of EUR 750 "
                    "for items such as a desk, an office chair or a desk lamp. The allowance is "
                    "claimed through the expense system with receipts within the first three "
                    "months of employment and can be claimed again every four years."
                ),
            ),
            (
                "Daily remote working allowance",
                (
                    "In addition, employees in Ireland receive a tax-free remote working allowance "
                    "of EUR 3.20 for each full day worked from home, paid monthly with salary "
                    "based on the remote days recorded in Compass. Northwind does not pay for home "
                    "broadband or electricity beyond this allowance."
                ),
            ),
            (
                "Working safely at home",
                (
                    "Your home workspace should be safe and ergonomic. Always use the VPN on "
                    "networks you do not control, and do not print Confidential documents at home."
                ),
            ),
        ),
    ),
    Section(
        "5. Code of Conduct and Security",
        (
            (
                "Our standards",
                (
                    "We treat colleagues, clients and partners with respect. Harassment, bullying "
                    "and discrimination of any kind are not tolerated, in the office, at client "
                    "sites, at company events or online. If you experience or witness such "
                    "behaviour, speak to your manager, to People Operations or, anonymously, to "
                    "the independent ethics line."
                ),
            ),
            (
                "Conflicts of interest, gifts and bribery",
                (
                    "Declare any potential conflict of interest, such as a second job or a family "
                    "relationship with a supplier, to People Operations within 30 days of it "
                    "arising. Gifts and hospitality worth more than EUR 100 must be recorded in "
                    "the gifts register. Offering or accepting bribes is strictly forbidden and "
                    "will lead to dismissal."
                ),
            ),
            (
                "Confidentiality",
                (
                    "Client data is entrusted to us and may only be used for the purpose agreed in "
                    "the client contract. Do not discuss client projects in public places, and do "
                    "not share internal information on social media."
                ),
            ),
            (
                "Information security",
                (
                    "Every employee must follow the IT Security Policy, which sets out the rules "
                    "for passwords, multi-factor authentication, encryption and data "
                    "classification. Lock your screen whenever you leave your device."
                ),
            ),
            (
                "Reporting security incidents",
                (
                    "Report every security incident or suspected incident, for example a lost "
                    "laptop or phone, a click on a phishing link or data sent to the wrong "
                    "recipient, to security@northwind-analytics.example. Incidents must be "
                    "reported within 24 hours of noticing them, even if you are not sure whether "
                    "anything was actually lost. Outside office hours you can also call the "
                    "security on-call "
                    "line on +353 1 555 0142. Do not try to investigate the incident yourself and "
                    "do not delete any evidence. Reporting a mistake quickly is never a "
                    "disciplinary matter; hiding one may be."
                ),
            ),
            (
                "Disciplinary procedure",
                (
                    "Breaches of this code are handled under the disciplinary procedure, which "
                    "includes a fair investigation, the right to be accompanied at any hearing "
                    "and the right to appeal."
                ),
            ),
        ),
    ),
    Section(
        "6. Performance Reviews and Benefits",
        (
            (
                "Probation",
                (
                    "New employees complete a probation period of six months, with a progress "
                    "review after three months. Your manager confirms the end of probation in "
                    "writing."
                ),
            ),
            (
                "Review cycle",
                (
                    "Performance is reviewed twice a year: a mid-year check-in in June and an "
                    "annual review in December. Both conversations look at results, behaviours "
                    "and development goals. The annual review uses a four-point rating scale and "
                    "feeds into salary decisions. Salary adjustments take effect on 1 April of "
                    "the following year and are confirmed in writing."
                ),
            ),
            (
                "Pension",
                (
                    "Northwind contributes 5% of your base salary to the company pension plan and "
                    "matches any additional personal contribution of up to a further 3% of base "
                    "salary. You can change your contribution once per quarter in Compass."
                ),
            ),
            (
                "Health and protection",
                (
                    "All employees are covered by the group private health insurance scheme. "
                    "Northwind pays 100% of the premium for employees and 50% for registered "
                    "dependants. Life assurance of four times base salary and income protection "
                    "insurance are included. A confidential employee assistance programme offers "
                    "counselling and legal advice around the clock."
                ),
            ),
            (
                "Learning and development",
                (
                    "Each employee has a personal learning budget of EUR 1,500 per calendar year "
                    "and three paid study days for courses, conferences or certifications. "
                    "Unused learning budget does not carry over."
                ),
            ),
            (
                "Other benefits",
                (
                    "Other benefits include a cycle-to-work scheme, a subsidised public transport "
                    "ticket, free fruit and coffee in every office, and an annual summer party. "
                    "For any questions about your benefits, contact "
                    "people@northwind-analytics.example."
                ),
            ),
        ),
    ),
)


# --------------------------------------------------------------------------- PDF


def build_handbook(path: Path) -> None:
    """Render the employee handbook: one section per page, header and footer."""
    from fpdf import FPDF

    class HandbookPDF(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", "B", 9)
            self.set_text_color(90, 90, 90)
            self.cell(0, 6, f"{COMPANY} - Employee Handbook", align="L")
            self.cell(0, 6, "Version 4.2", align="R", new_x="LMARGIN", new_y="NEXT")
            self.line(self.l_margin, self.get_y(), self.w - self.r_margin, self.get_y())
            self.ln(6)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", "", 8)
            self.set_text_color(90, 90, 90)
            self.cell(0, 6, "Internal - do not distribute outside Northwind", align="L")
            self.cell(0, 6, f"Page {self.page_no()} of {{nb}}", align="R")

    pdf = HandbookPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.set_title(f"{COMPANY} Employee Handbook")
    pdf.set_author("People Operations")
    pdf.set_subject("Employee handbook, version 4.2")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=20)

    for section in HANDBOOK:
        pdf.add_page()
        pdf.set_text_color(0, 0, 0)
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 9, section.title, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(3)
        for heading, text in section.blocks:
            _ascii_only(text)
            if heading:
                pdf.set_font("Helvetica", "B", 11)
                pdf.multi_cell(0, 6, heading, new_x="LMARGIN", new_y="NEXT")
            pdf.set_font("Helvetica", "", 10.5)
            pdf.multi_cell(0, 5.4, text, align="L", new_x="LMARGIN", new_y="NEXT")
            pdf.ln(3)
        if pdf.page_no() != HANDBOOK.index(section) + 1:
            raise RuntimeError(f"section {section.title!r} overflowed onto a second page")

    pdf.output(str(path))


def _ascii_only(text: str) -> None:
    bad = sorted({ch for ch in text if ord(ch) > 126})
    if bad:
        raise ValueError(f"non-ASCII characters in PDF text: {bad!r}")


# -------------------------------------------------------------------------- DOCX

REVENUE_ROWS: tuple[tuple[str, str, str, str], ...] = (
    ("Region", "Q3 2026 revenue (EUR k)", "Q3 2025 revenue (EUR k)", "Change"),
    ("Ireland and UK", "2,310", "2,150", "+7.4%"),
    ("DACH", "1,655", "1,420", "+16.5%"),
    ("Nordics", "1,870", "1,610", "+16.1%"),
    ("Southern Europe", "640", "610", "+4.9%"),
    ("APAC (Shanghai)", "945", "835", "+13.2%"),
    ("Total", "7,420", "6,625", "+12.0%"),
)


def build_minutes(path: Path) -> None:
    """Write the Q3 2026 board minutes with python-docx."""
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    props = doc.core_properties
    props.title = "Minutes of the Board of Directors, Q3 2026"
    props.author = "Aoife Brennan"
    props.created = FIXED_DATE
    props.modified = FIXED_DATE
    props.last_modified_by = "Aoife Brennan"
    props.revision = 1

    doc.add_heading(f"{COMPANY} - Minutes of the Board of Directors Meeting", level=0)
    doc.add_paragraph(
        "Meeting date: 15 October 2026, 10:00 to 12:30\n"
        "Location: Boardroom, Northwind Analytics headquarters, Dublin\n"
        "Present: Siobhan Keane (Chair), Marcus Albrecht (Chief Executive Officer), "
        "Ingrid Solberg (Chief Financial Officer), Ravi Menon (Non-Executive Director), "
        "Chen Yu (General Manager, Shanghai)\n"
        "In attendance: Aoife Brennan (Company Secretary, minutes)"
    )

    doc.add_heading("1. Opening and previous minutes", level=1)
    doc.add_paragraph(
        "The Chair opened the meeting at 10:00 and confirmed that a quorum was present. No "
        "conflicts of interest were declared. The minutes of the meeting held on 16 July 2026 "
        "were approved without changes."
    )

    doc.add_heading("2. Q3 2026 financial results", level=1)
    doc.add_paragraph(
        "The CFO presented the results for the third quarter. Group revenue was EUR 7.42 "
        "million, an increase of 12.0% compared with the same quarter of 2025. Growth was "
        "strongest in DACH and the Nordics, driven by two multi-year energy analytics "
        "contracts. EBITDA margin improved to 18.4% from 16.9%, and cash at the end of the "
        "quarter stood at EUR 5.9 million. Revenue by region is shown in the table below."
    )
    table = doc.add_table(rows=len(REVENUE_ROWS), cols=len(REVENUE_ROWS[0]))
    table.style = "Table Grid"
    for r, row in enumerate(REVENUE_ROWS):
        for c, value in enumerate(row):
            cell = table.cell(r, c)
            cell.text = value
            if r == 0 or row[0] == "Total":
                for run in cell.paragraphs[0].runs:
                    run.bold = True
    doc.add_paragraph(
        "The board noted that Southern Europe grew more slowly than planned because most "
        "client work there is still delivered remotely from Dublin."
    )

    doc.add_heading("3. New office in Lisbon", level=1)
    doc.add_paragraph(
        "The CEO presented the business case for a new office in Lisbon to serve clients in "
        "Portugal and Spain and to recruit data engineers. The office would open in "
        "February 2027 with 18 desks and grow to 35 employees by the end of 2028. After "
        "discussion, the board approved a budget of EUR 1.2 million for the Lisbon office, "
        "covering fit-out, the first year of rent and initial recruitment. Marcus Albrecht "
        "will lead the project and present a shortlist of sites by 30 November 2026."
    )

    doc.add_heading("4. Hiring plan 2027", level=1)
    doc.add_paragraph(
        "The board approved a hiring plan of 22 new positions for 2027, including eight "
        "positions for the Lisbon office. People Operations will report progress to the board "
        "every quarter."
    )

    doc.add_heading("5. Risk and information security", level=1)
    doc.add_paragraph(
        "Ravi Menon reported that the ISO 27001 surveillance audit in September 2026 was "
        "passed with two minor non-conformities, both relating to access reviews. Corrective "
        "actions are due by the end of the year. No major security incidents occurred in the "
        "quarter."
    )

    doc.add_heading("6. Decisions and actions", level=1)
    for item in (
        "Decision: Q3 2026 financial statements approved for filing.",
        "Decision: Lisbon office and its budget approved as described in item 3.",
        "Decision: Hiring plan 2027 approved.",
        "Action (Marcus Albrecht): Lisbon site shortlist by 30 November 2026.",
        "Action (Ingrid Solberg): budget for 2027 to be presented at the next meeting.",
    ):
        doc.add_paragraph(item, style="List Bullet")

    closing = doc.add_paragraph(
        "The Chair closed the meeting at 12:30. The next board meeting will be held on "
        "21 January 2027."
    )
    for run in closing.runs:
        run.font.size = Pt(10)

    doc.save(str(path))


# ---------------------------------------------------------------------- fixtures

NOTES_TXT = """\
Infrastructure notes - spring 2026

The infrastructure team spent most of the spring moving our analytics workloads out of the
old Oslo server room and into a rented datacentre hall run by a regional hosting provider.
The move was planned in three waves so that no client project lost more than one evening
of processing time.

The Oslo datacentre migration finished on 14 May 2026. After the final wave, the old racks
were wiped, decommissioned and collected for recycling by a certified disposal partner.

Next quarter the team will focus on automating backups and on documenting the new network
layout, so that on-call engineers can find their way around without asking the two people
who built it.
"""


def build_encrypted(path: Path) -> str:
    """Write a 1-page PDF with a text layer, encrypted with user password "secret"."""
    import io

    from fpdf import FPDF
    from pypdf import PdfReader, PdfWriter

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(
        0,
        6,
        "Northwind Analytics Ltd. - Salary bands 2026 (restricted). "
        "This document is encrypted and should only be readable with the password.",
    )
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(bytes(pdf.output()))))
    try:
        import cryptography  # noqa: F401

        algorithm = "AES-256"
    except ImportError:
        algorithm = "RC4-128"
    writer.encrypt(user_password="secret", owner_password="northwind-owner", algorithm=algorithm)
    with path.open("wb") as fh:
        writer.write(fh)
    return algorithm


def build_corrupt(path: Path) -> None:
    """Write a real PDF cut in half, with its header kept and the rest garbled."""
    import io

    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_creation_date(FIXED_DATE)
    pdf.add_page()
    pdf.set_font("Helvetica", "", 11)
    pdf.multi_cell(0, 6, "This PDF was truncated on purpose and cannot be parsed.")
    buf = io.BytesIO(bytes(pdf.output()))
    data = bytearray(buf.getvalue()[: len(buf.getvalue()) // 2])
    rng = random.Random(7)
    for i in range(16, len(data), 7):  # keep the "%PDF-1.x" header line intact
        data[i] = rng.randrange(256)
    path.write_bytes(bytes(data))


def build_fixtures() -> str:
    BAD_DIR.mkdir(parents=True, exist_ok=True)
    GOOD_DIR.mkdir(parents=True, exist_ok=True)
    build_corrupt(BAD_DIR / "corrupt.pdf")
    algorithm = build_encrypted(BAD_DIR / "encrypted.pdf")
    (BAD_DIR / "empty.txt").write_bytes(b"")
    (BAD_DIR / "binary.pdf").write_bytes(random.Random(1234).randbytes(4096))
    (GOOD_DIR / "notes.txt").write_text(NOTES_TXT, encoding="utf-8")
    return algorithm


# ------------------------------------------------------------------------- check

#: (answer span, file it must occur in) - each span must occur exactly once in the corpus.
ANSWER_SPANS: tuple[tuple[str, str], ...] = (
    ("31 March", "employee_handbook.pdf"),
    ("24 hours", "employee_handbook.pdf"),
    ("14 characters", "it_security_policy.md"),
    ("EUR 1.2 million", "board_minutes_2026_q3.docx"),
    ("1,870", "board_minutes_2026_q3.docx"),
    ("600元", "差旅报销制度.md"),
)
#: Words that must not occur anywhere (the unanswerable question is about pets).
ABSENT_PATTERN = re.compile(r"\b(pets?|dogs?|cats?|animals?)\b|宠物|狗|猫", re.IGNORECASE)


def corpus_texts() -> dict[str, str]:
    """Extract the text of every sample document, keyed by file name."""
    from docx import Document
    from pypdf import PdfReader

    texts: dict[str, str] = {}
    for path in sorted(DOCS_DIR.iterdir()):
        if path.suffix == ".pdf":
            texts[path.name] = "\n".join(p.extract_text() for p in PdfReader(path).pages)
        elif path.suffix == ".docx":
            doc = Document(str(path))
            parts = [p.text for p in doc.paragraphs]
            parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
            texts[path.name] = "\n".join(parts)
        else:
            texts[path.name] = path.read_text(encoding="utf-8")
    return texts


def check() -> list[str]:
    """Verify the generated files; return a list of problems (empty when all is well)."""
    from pypdf import PdfReader

    logging.getLogger("pypdf").setLevel(logging.CRITICAL)  # the bad fixtures are noisy
    problems: list[str] = []
    expected = {
        "employee_handbook.pdf",
        "it_security_policy.md",
        "差旅报销制度.md",
        "board_minutes_2026_q3.docx",
    }
    found = {p.name for p in DOCS_DIR.iterdir()}
    if found != expected:
        problems.append(f"sample_docs holds {sorted(found)}, expected {sorted(expected)}")

    reader = PdfReader(DOCS_DIR / "employee_handbook.pdf")
    if len(reader.pages) != len(HANDBOOK):
        problems.append(f"handbook has {len(reader.pages)} pages, expected {len(HANDBOOK)}")
    for number, (page, section) in enumerate(zip(reader.pages, HANDBOOK), start=1):
        text = page.extract_text()
        words = len(text.split())
        if section.title not in text:
            problems.append(f"handbook page {number}: title {section.title!r} not extracted")
        if f"Page {number} of {len(HANDBOOK)}" not in text:
            problems.append(f"handbook page {number}: footer page number missing")
        if not 250 <= words <= 500:
            problems.append(f"handbook page {number}: {words} words")
        if re.search(r"[a-z]{25,}", text) or re.search(r"[\ufb00-\ufb06]", text):
            problems.append(f"handbook page {number}: run-together words or ligatures")

    texts = corpus_texts()
    for span, home in ANSWER_SPANS:
        hits = {name: text.count(span) for name, text in texts.items() if span in text}
        if hits != {home: 1}:
            problems.append(f"answer {span!r} found {hits}, expected once in {home}")
    for name, text in texts.items():
        if match := ABSENT_PATTERN.search(text):
            problems.append(f"{name} mentions {match.group(0)!r} (unanswerable question)")

    for name in ("corrupt.pdf", "binary.pdf"):
        if _pypdf_reads(BAD_DIR / name):
            problems.append(f"{name} was read by pypdf without an error")
    enc = PdfReader(BAD_DIR / "encrypted.pdf")
    if not enc.is_encrypted:
        problems.append("encrypted.pdf is not encrypted")
    elif not enc.decrypt("secret") or "Salary bands" not in enc.pages[0].extract_text():
        problems.append("encrypted.pdf does not open with the password 'secret'")
    if (BAD_DIR / "empty.txt").stat().st_size != 0:
        problems.append("empty.txt is not empty")
    for path in BAD_DIR.iterdir():
        if path.stat().st_size >= 20_000:
            problems.append(f"{path.name} is {path.stat().st_size} bytes")
    return problems


def _pypdf_reads(path: Path) -> bool:
    """Return True if pypdf can open ``path`` and extract the first page's text."""
    from pypdf import PdfReader

    try:
        PdfReader(path).pages[0].extract_text()
    except Exception:  # noqa: BLE001 - any failure counts as "unreadable"
        return False
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="only verify, do not generate")
    args = parser.parse_args(argv)
    if not args.check:
        DOCS_DIR.mkdir(exist_ok=True)
        build_handbook(DOCS_DIR / "employee_handbook.pdf")
        build_minutes(DOCS_DIR / "board_minutes_2026_q3.docx")
        algorithm = build_fixtures()
        print(f"generated sample docs and fixtures (encrypted.pdf uses {algorithm})")
    problems = check()
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    print("check: OK" if not problems else f"check: {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
