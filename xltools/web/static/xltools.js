// xltools serve: small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // buttons that ask first (approve, revoke, send)
  document.addEventListener("click", function (ev) {
    var el = ev.target.closest ? ev.target.closest("[data-confirm]") : null;
    if (el && !window.confirm(el.getAttribute("data-confirm"))) {
      ev.preventDefault();
    }
    var p = ev.target.closest ? ev.target.closest(".print-button") : null;
    if (p) { window.print(); }
  });

  // drag and drop onto the upload box: the dropped file goes into the form's file input
  function setupDrop() {
    var drop = document.getElementById("drop");
    var input = document.getElementById("file");
    var name = document.getElementById("drop-name");
    if (!drop || !input) { return; }
    function show() {
      name.textContent = input.files && input.files.length ? input.files[0].name : "";
    }
    ["dragenter", "dragover"].forEach(function (t) {
      drop.addEventListener(t, function (ev) { ev.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "drop"].forEach(function (t) {
      drop.addEventListener(t, function () { drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (ev) {
      ev.preventDefault();
      if (ev.dataTransfer && ev.dataTransfer.files && ev.dataTransfer.files.length) {
        input.files = ev.dataTransfer.files;
        show();
      }
    });
    input.addEventListener("change", show);
  }

  // on a wide screen a result page opens on its first marked cell, its findings beside it
  // (the banner above stays one scroll away); on a phone the findings come first, above the table
  function focusMark() {
    if (location.hash) { return; }
    if (window.matchMedia && window.matchMedia("(max-width: 900px)").matches) { return; }
    var cell = document.querySelector("[data-focus-mark] td.mark-error, [data-focus-mark] td.mark-warning");
    if (cell && cell.scrollIntoView) { cell.scrollIntoView({block: "center"}); }
  }

  function ready() { setupDrop(); focusMark(); }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", ready);
  } else {
    ready();
  }
})();
