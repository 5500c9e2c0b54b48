"""The page's own style and the few lines of JavaScript it runs (copy, scroll, a guard)."""

CSS = """
.rag-source { margin: 0.4em 0 0.8em; }
.rag-source-name { font-weight: 600; }
.rag-context { white-space: pre-wrap; margin-top: 0.2em; }
.rag-document { white-space: pre-wrap; max-height: 70vh; overflow-y: auto; line-height: 1.5; }
.rag-document mark, .rag-context mark { padding: 0 0.1em; }
.rag-document mark.rag-focus { outline: 2px solid #f59e0b; }
.rag-page { position: relative; max-height: 80vh; overflow-y: auto; }
.rag-page img { width: 100%; height: auto; display: block; border: 1px solid #d4d4d8; }
.rag-box { position: absolute; background: rgba(250, 204, 21, 0.4);
  outline: 2px solid #f59e0b; }
.rag-marker { font-size: 0.75em; vertical-align: super; font-weight: 600; }
.rag-check { margin: 0.6em 0; padding: 0.4em 0.6em; border-left: 4px solid #9ca3af; }
.rag-check.rag-supported { border-color: #16a34a; }
.rag-check.rag-contradicted { border-color: #dc2626; }
.rag-verdict { font-weight: 600; }
.rag-check ul { margin: 0.2em 0 0 1.2em; }
.rag-pin { margin: 0.2em 0; padding: 0.1em 0.4em; border-left: 3px solid #f59e0b;
  font-size: 0.9em; }
"""

COPY_JS = """
(text) => {
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text);
  } else {  // plain http on a LAN address: no Clipboard API
    const area = document.createElement("textarea");
    area.value = text;
    document.body.appendChild(area);
    area.select();
    document.execCommand("copy");
    area.remove();
  }
}
"""

SCROLL_JS = "() => document.querySelector('.rag-focus')?.scrollIntoView({block: 'center'})"
"""Brings the highlighted quote of the source panel into view."""

QUESTION_ID = "rag-question"
"""The question box's element id, which :data:`BLANK_GUARD_JS` looks for."""

BLANK_GUARD_JS = """
() => {
  // A blank question is refused here, in the page: Enter and the Ask button do nothing
  // while the box holds only whitespace, so no request is sent.
  const blank = () => {
    const box = document.querySelector("#rag-question textarea");
    return box !== null && box.value.trim() === "";
  };
  document.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && e.target.closest?.("#rag-question") && blank()) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("click", (e) => {
    if (e.target.closest?.("#rag-question button") && blank()) {
      e.preventDefault();
      e.stopImmediatePropagation();
    }
  }, true);
}
"""
