"""An invoice as a PDF (ReportLab), laid out like its HTML page."""

import io
from datetime import timedelta
from xml.sax.saxutils import escape

from django.conf import settings
from django.utils.dateformat import format as date_format
from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from billing.models import Invoice
from billing.money import format_money

ACCENT = colors.HexColor("#3451e0")
MUTED = colors.HexColor("#667085")
BORDER = colors.HexColor("#e3e6ee")


def _lines(text: str) -> str:
    return "<br/>".join(escape(line) for line in text.splitlines())


def invoice_pdf(invoice: Invoice) -> bytes:
    """The PDF bytes of an issued invoice. Uncompressed: invoices are small and stay searchable."""
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=20 * mm,
        rightMargin=20 * mm,
        topMargin=18 * mm,
        bottomMargin=18 * mm,
        title=f"Invoice {invoice.number}",
        author="Filedock",
        subject=f"Filedock invoice {invoice.number}",
        pageCompression=0,
    )
    styles = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=styles["Normal"], fontName="Helvetica", fontSize=10, leading=14)
    muted = ParagraphStyle("muted", parent=body, textColor=MUTED)
    title = ParagraphStyle("title", parent=body, fontName="Helvetica-Bold", fontSize=20, leading=24, alignment=TA_RIGHT)
    brand = ParagraphStyle("brand", parent=body, fontName="Helvetica-Bold", fontSize=14, textColor=ACCENT)
    money = lambda cents: format_money(cents, invoice.currency)  # noqa: E731
    issuer = settings.FILEDOCK_INVOICE_ISSUER.splitlines() or ["Filedock"]
    vat = [f"VAT number {settings.FILEDOCK_INVOICE_VAT_NUMBER}"] if settings.FILEDOCK_INVOICE_VAT_NUMBER else []

    last_day = invoice.period_end - timedelta(days=1)
    facts = [
        ["Invoice number", invoice.number],
        ["Issued", date_format(invoice.issued_at, "M j, Y") if invoice.issued_at else "—"],
        ["Period", f"{date_format(invoice.period_start, 'M j')} – {date_format(last_day, 'M j, Y')}"],
        ["Status", invoice.get_status_display()],
    ]
    if invoice.paid_at:
        facts.append(["Paid", date_format(invoice.paid_at, "M j, Y")])
    head = Table(
        [
            [Paragraph(escape(issuer[0]), brand), Paragraph("Invoice", title)],
            [Paragraph(_lines("\n".join([*issuer[1:], *vat])), muted), ""],
        ],
        colWidths=[85 * mm, 85 * mm],
    )
    head.setStyle(TableStyle([("ALIGN", (1, 0), (1, 0), "RIGHT"), ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    info = Table(
        [
            [
                Paragraph("<b>Bill to</b><br/>" + _lines(invoice.bill_to or invoice.account.email), body),
                Table(
                    facts,
                    colWidths=[32 * mm, 50 * mm],
                    style=[
                        ("FONT", (0, 0), (0, -1), "Helvetica", 9),
                        ("TEXTCOLOR", (0, 0), (0, -1), MUTED),
                        ("FONT", (1, 0), (1, -1), "Helvetica-Bold", 9),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                    ],
                ),
            ]
        ],
        colWidths=[88 * mm, 82 * mm],
    )
    info.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "TOP")]))

    rows = [["Description", "Qty", "Unit price", "Amount"]]
    for line in invoice.lines.all():
        rows.append(
            [
                Paragraph(escape(line.description), body),
                str(line.quantity),
                money(line.unit_price_cents),
                money(line.amount_cents),
            ]
        )
    rows.append(["", "", "Total", money(invoice.total_cents)])
    table = Table(rows, colWidths=[100 * mm, 14 * mm, 28 * mm, 28 * mm], repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9),
                ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
                ("FONT", (0, 1), (-1, -1), "Helvetica", 10),
                ("ALIGN", (1, 0), (-1, -1), "RIGHT"),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LINEBELOW", (0, 0), (-1, -2), 0.5, BORDER),
                ("FONT", (2, -1), (-1, -1), "Helvetica-Bold", 11),
                ("TOPPADDING", (0, -1), (-1, -1), 8),
            ]
        )
    )
    story = [head, Spacer(1, 10 * mm), info, Spacer(1, 10 * mm), table, Spacer(1, 10 * mm)]
    if invoice.status == Invoice.Status.VOID:
        story.append(Paragraph("This invoice was voided and is not payable.", muted))
    elif invoice.status == Invoice.Status.OPEN:
        story.append(Paragraph(_lines(settings.FILEDOCK_INVOICE_PAYMENT_DETAILS), muted))
    doc.build(story)
    return buffer.getvalue()
