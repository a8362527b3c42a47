// Copy buttons of the payment link page (data-copy names the field to
// copy). They are hidden in the markup and shown here, so a browser
// without script or without the clipboard API sees only the readonly
// fields, which can be selected and copied by hand.
(function () {
  if (!navigator.clipboard) return;
  document.querySelectorAll("[data-copy]").forEach(function (b) {
    var field = document.getElementById(b.getAttribute("data-copy"));
    if (!field) return;
    var label = b.textContent;
    b.hidden = false;
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        b.textContent = "Copied";
        setTimeout(function () { b.textContent = label; }, 2000);
      });
    });
  });
})();
