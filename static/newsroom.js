// Checks each evidence quote against its source while the journalist types, with the same rule
// as `kb check` (the server answers); the form is checked again on save, with or without this.
(function () {
  "use strict";
  function watch(row) {
    var url = row.getAttribute("data-quote-check");
    var select = row.querySelector("select");
    var quote = row.querySelector("textarea");
    var output = row.querySelector("output");
    var timer = null;
    var asked = 0;
    function check() {
      var sent = ++asked;
      if (!quote.value.trim()) { output.textContent = ""; output.className = "quote-check"; return; }
      var query = "?source=" + encodeURIComponent(select.value) + "&quote=" + encodeURIComponent(quote.value);
      fetch(url + query, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (answer) {
          if (sent !== asked) { return; }  // a newer keystroke's answer is on its way
          output.textContent = (answer.verified ? "✓ " : "✗ ") + answer.message;
          output.className = "quote-check " + (answer.verified ? "ok" : "ko");
          if (answer.nearest) {
            // The source's own words, offered, never put in by itself: the journalist chooses.
            var use = document.createElement("button");
            use.type = "button";
            use.className = "secondary use-nearest";
            use.textContent = "Citer ce passage";
            use.addEventListener("click", function () { quote.value = answer.nearest; check(); quote.focus(); });
            output.appendChild(document.createTextNode(" "));
            output.appendChild(use);
          }
        })
        .catch(function () { output.textContent = ""; });
    }
    function later() { clearTimeout(timer); timer = setTimeout(check, 300); }
    quote.addEventListener("input", later);
    select.addEventListener("change", check);
    if (quote.value.trim()) { check(); }
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("[data-quote-check]"), watch);
  });
})();
