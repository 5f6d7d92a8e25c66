// Progressive enhancement only: every page works without it.
// A select marked data-autosubmit submits its form when it changes (the button stays for
// keyboards and for browsers without script).
document.querySelectorAll("select[data-autosubmit]").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
