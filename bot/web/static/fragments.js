// Staff console: a section marked data-fragment="<url>" is filled with that page of the console
// (the "可能重复" panel, the hot spots of the dashboard and the bulletin). Loaded once per page.
(function () {
  "use strict";
  if (window.minshengFragments) { return; }
  window.minshengFragments = true;
  function load(section) {
    var url = section.getAttribute("data-fragment");
    var loading = section.querySelector(".fragment-loading");
    fetch(url, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        var holder = document.createElement("div");
        holder.className = "fragment-body";
        holder.innerHTML = html;
        if (loading) { loading.remove(); }
        section.appendChild(holder);
        section.setAttribute("data-loaded", "true");
      })
      .catch(function () {
        if (loading) { loading.textContent = "没能加载，请刷新页面再试。"; }
        section.setAttribute("data-loaded", "error");
      });
  }
  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-fragment]"), load);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
