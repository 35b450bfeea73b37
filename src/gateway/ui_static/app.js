/* app.js — the web UI's few enhancements on top of htmx. Every page works
 * without it (ADR 0080): links and forms are plain HTML. Embedded in the
 * binary at build time and served at /static/app.js. */
(function () {
  "use strict";

  /* Ctrl+Enter (Cmd+Enter on a Mac) in the SQL box runs the query. */
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Enter" || !(e.ctrlKey || e.metaKey)) return;
    var ta = e.target;
    if (!ta || ta.id !== "sql" || !ta.form) return;
    e.preventDefault();
    if (ta.form.requestSubmit) ta.form.requestSubmit();
    else ta.form.submit();
  });

  /* A dataset chip inserts its name at the cursor (without JS it is a link
   * that opens the console with a query over that dataset). */
  document.addEventListener("click", function (e) {
    var chip = e.target.closest ? e.target.closest("[data-insert]") : null;
    var ta = document.getElementById("sql");
    if (!chip || !ta) return;
    e.preventDefault();
    var text = chip.getAttribute("data-insert");
    var a = ta.selectionStart, b = ta.selectionEnd;
    if (!ta.value.trim()) {
      text = "SELECT * FROM " + text + " LIMIT 100";
      a = 0; b = ta.value.length;
    }
    ta.value = ta.value.slice(0, a) + text + ta.value.slice(b);
    ta.focus();
    ta.selectionStart = ta.selectionEnd = a + text.length;
  });

  /* CSRF (ADR 0111): every htmx request that changes something carries the
   * page's token, which the server also set in the lh_csrf cookie. The
   * forms hold it as a hidden field too, for when this script does not run;
   * the upload's progress bar rides on the same htmx request. */
  document.addEventListener("htmx:configRequest", function (e) {
    var m = document.querySelector('meta[name="csrf-token"]');
    var verb = (e.detail && e.detail.verb || "get").toLowerCase();
    if (m && verb !== "get") e.detail.headers["X-CSRF-Token"] = m.content;
  });

  /* Upload progress: htmx reports the XHR's upload progress. */
  function progress(value, label) {
    var p = document.getElementById("upload-progress");
    var t = document.getElementById("upload-percent");
    if (!p) return;
    p.hidden = value === null;
    if (value !== null) p.value = value;
    if (t) t.textContent = label || "";
  }
  document.addEventListener("htmx:beforeRequest", function (e) {
    if (e.target && e.target.id === "upload-form") {
      progress(0, "Uploading\u2026");
      var r = document.getElementById("upload-result");
      if (r) r.innerHTML = "";
    }
  });
  document.addEventListener("htmx:xhr:progress", function (e) {
    if (!e.target || e.target.id !== "upload-form") return;
    var d = e.detail;
    if (d && d.lengthComputable && d.total > 0) {
      var pct = Math.round((d.loaded / d.total) * 100);
      progress(pct, pct < 100 ? "Uploading\u2026 " + pct + "%" : "Processing\u2026");
    }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    if (e.target && e.target.id === "upload-form")
      progress(100, e.detail && e.detail.successful ? "Done" : "");
  });
})();
