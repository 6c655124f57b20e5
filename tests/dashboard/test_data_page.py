"""The Data page's logic without a browser."""

import io as _io
import zipfile

import numpy as np
import pytest

import analysis
from analysis import SpikeDataError, simulate
from dashboard.data_page import DOWNLOAD_FORMATS, load_uploaded


def test_load_uploaded_file_and_zipped_phy_folder(tmp_path):
    data = simulate.poisson(n_units=4, t_stop=2.0, seed=2)
    analysis.save(data, tmp_path / "x.npz")
    assert load_uploaded("x.npz", (tmp_path / "x.npz").read_bytes()).equals(data)

    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        samples = np.array([30, 300, 3000, 6000], dtype=np.uint64)
        for name, arr in (("spike_times.npy", samples),
                          ("spike_clusters.npy", np.array([1, 2, 1, 2]))):
            b = _io.BytesIO()
            np.save(b, arr)
            zf.writestr(f"sorting/{name}", b.getvalue())
        zf.writestr("sorting/params.py", "sample_rate = 30000.0\n")
    phy = load_uploaded("sorting.zip", buf.getvalue())
    assert phy.unit_ids.tolist() == ["1", "2"]
    np.testing.assert_allclose(phy["1"], [0.001, 0.1])


def test_upload_errors_name_the_file_not_the_server_folder():
    with pytest.raises(SpikeDataError) as info:
        load_uploaded("broken.csv", b"time,unit\n0.5,a\nnan,b\n")
    message = str(info.value)
    assert message.startswith("broken.csv") and "spikelens-upload" not in message
    with pytest.raises(SpikeDataError, match="unsupported file type '.exe'"):
        load_uploaded("tool.exe", b"MZ")


def test_zip_with_escaping_path_is_refused():
    buf = _io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.csv", "time,unit\n0.1,a\n")
    with pytest.raises(SpikeDataError, match="unsafe path"):
        load_uploaded("evil.zip", buf.getvalue())


def test_create_app_gives_each_session_its_own_state():
    from dashboard.app import create_app

    one, two = create_app(), create_app()
    assert one.session is not two.session
    one.session.data = simulate.poisson(n_units=3, t_stop=1.0, seed=1)
    assert two.session.data.n_units == 500  # still the default demo


# ---------------------------------------------------------------------- simulator form
def spot_settings(**values):
    from dashboard import simulator_form

    cls = simulator_form.settings_class("spot_patterns", simulate.spot_patterns)
    small = {"n_patterns": 2, "epochs_per_pattern": 3, "n_noise_epochs": 2, "n_units": 8,
             "epoch_samples": 100, "pulse_samples": 10}
    return cls(**{**small, **values})


def test_variant_and_noise_are_selectors_of_the_simulators_values():
    import param

    settings = spot_settings()
    variant, noise = settings.param["variant"], settings.param["noise"]
    assert isinstance(variant, param.Selector) and isinstance(noise, param.Selector)
    assert list(variant.objects) == list(simulate.SPOT_VARIANTS)  # None (basic) included
    assert settings.variant is None
    assert noise.objects == ["homogeneous", "patterned"] and settings.noise == "homogeneous"
    with pytest.raises(ValueError):
        settings.variant = "bimodel"  # a typo is refused by the widget's parameter


def test_choosing_a_variant_by_name_simulates_it():
    from dashboard import simulator_form

    settings = spot_settings(variant="bimodal", noise="patterned", mode_prob=0.8)
    data = simulator_form.call(settings)  # no quoted Python literal needed
    assert data.annotations["variant"] == "bimodal"
    assert data.annotations["noise"] == "patterned"
    assert data.annotations["variant_options"] == {"mode_prob": 0.8}
    assert data.equals(simulate.spot_patterns(
        n_patterns=2, epochs_per_pattern=3, n_noise_epochs=2, n_units=8, epoch_samples=100,
        pulse_samples=10, noise="patterned", variant="bimodal", mode_prob=0.8, seed=1))


@pytest.mark.parametrize("variant", [v for v in simulate.SPOT_VARIANTS if v is not None])
def test_each_variant_passes_only_its_own_options(variant):
    from dashboard import simulator_form

    settings = spot_settings(variant=variant)
    options = simulate.SPOT_VARIANTS[variant]
    for name in options:  # each option has a widget parameter with the simulator's default
        expected = options[name]
        value = getattr(settings, name)
        assert (tuple(value) if isinstance(value, list) else value) == (
            tuple(expected) if isinstance(expected, list) else expected)
    data = simulator_form.call(settings)  # other variants' options would be refused
    assert data.annotations["variant"] == variant
    assert set(data.annotations["variant_options"]) == set(options)


def test_variant_options_show_for_their_variant_only():
    import panel as pn

    from dashboard import simulator_form

    settings = spot_settings()
    form = pn.Param(settings, show_name=False)

    def shown():
        return {w.name for w in form._widget_box.objects}

    assert not shown() & {"Mode prob", "Scale range", "N groups", "Fine shift"}
    settings.variant = "rate_scaling_group"
    assert {"Scale range", "N groups"} <= shown() and "Mode prob" not in shown()
    settings.scale_range = (0.5, 1.5)
    data = simulator_form.call(settings)
    assert data.annotations["variant_options"]["scale_range"] == [0.5, 1.5]
    settings.variant = "coarse_fine"
    assert {"N coarse", "Fine shift"} <= shown() and "Scale range" not in shown()
    assert settings.fine_shift is None  # empty: the simulator's default (pulse_samples // 2)
    assert isinstance(form._widgets["variant"], pn.widgets.Select)
    assert isinstance(form._widgets["noise"], pn.widgets.Select)
    # a second form keeps its own choice
    other = spot_settings()
    assert other.variant is None and other.param["mode_prob"].precedence == -1


def test_literal_parameters_still_parse_and_name_themselves():
    from dashboard import simulator_form

    cls = simulator_form.settings_class("sip", simulate.sip)
    settings = cls(n_units=10, assembly_size=4, t_stop=2.0, bin_size="0.002")
    assert simulator_form.call(settings).n_units == 10
    settings.bin_size = "two ms"
    with pytest.raises(ValueError, match="bin_size: 'two ms' is not a valid value"):
        simulator_form.call(settings)


# ---------------------------------------------------------------------- download
@pytest.mark.parametrize("fmt", list(DOWNLOAD_FORMATS))
def test_download_reloads_to_the_loaded_data(tmp_path, fmt):
    from dashboard.data_page import DataPage
    from dashboard.state import Session

    data = simulate.spot_patterns(n_patterns=2, epochs_per_pattern=3, n_noise_epochs=2,
                                  n_units=6, epoch_samples=100, pulse_samples=10, seed=4)
    page = DataPage(session=Session(data=data, source="test"))
    assert not page._download.disabled
    page.download_format = fmt
    suffix = DOWNLOAD_FORMATS[fmt]
    assert page._download.filename == "spikelens_data" + suffix
    raw = page._download.callback().getvalue()  # what the browser receives
    path = tmp_path / ("download" + suffix)
    path.write_bytes(raw)
    back = analysis.load(path)
    assert back.equals(data), fmt
    assert back.epochs is not None and list(back.epochs.label) == list(data.epochs.label)


def test_download_is_disabled_without_data():
    from dashboard.data_page import DataPage
    from dashboard.state import Session

    page = DataPage(session=Session())
    assert page._download.disabled
