package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"

	"github.com/sentinel-fraud/sentinel/scoring"
	"github.com/sentinel-fraud/sentinel/scoring/live"
	"github.com/sentinel-fraud/sentinel/store"
	"github.com/sentinel-fraud/sentinel/training"
)

// The model commands run the registry's own code (live.Registry), as the
// admin forms do, without a live scorer: running servers take a promotion
// within their 15-second check.

func modelImportCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var c common
	var slug, file, name string
	apiKeyFlags(fs, env, &c, &slug)
	fs.StringVar(&file, "file", "", "model bundle or LightGBM model text file (required)")
	fs.StringVar(&name, "name", "", "model name; default: the bundle's, or the file's")
	return func(ctx context.Context) error {
		if file == "" {
			return errors.New("--file is required")
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		db, t, err := openTenant(ctx, &c, slug)
		if err != nil {
			return err
		}
		defer db.Close()
		mv, err := live.NewRegistry(nil).Import(ctx, t, cliActor("model import"), live.ImportInput{Name: name, FileName: filepath.Base(file), Data: data})
		if err != nil {
			return err
		}
		fmt.Println(mv.ID)
		fmt.Fprintf(os.Stderr, "imported %s v%d (%s, sha256 %s) into %s\n", mv.Name, mv.Version, mv.Stage, mv.SHA256, slug)
		return nil
	}
}

func modelListCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var c common
	var slug string
	apiKeyFlags(fs, env, &c, &slug)
	return func(ctx context.Context) error {
		db, t, err := openTenant(ctx, &c, slug)
		if err != nil {
			return err
		}
		defer db.Close()
		versions, err := store.ListModelVersions(ctx, t)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tNAME\tVERSION\tSTAGE\tCREATED\tPROMOTED\tSHA256")
		for _, v := range versions {
			promoted := "-"
			if v.ActivatedAt != nil {
				promoted = v.ActivatedAt.UTC().Format("2006-01-02T15:04:05Z")
			}
			fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\t%.12s\n", v.ID, v.Name, v.Version, v.Stage,
				v.CreatedAt.UTC().Format("2006-01-02T15:04:05Z"), promoted, v.SHA256)
		}
		return w.Flush()
	}
}

func modelPromoteCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var c common
	var slug, id, name string
	var version int
	apiKeyFlags(fs, env, &c, &slug)
	fs.StringVar(&id, "id", "", "the version's id, as listed")
	fs.StringVar(&name, "name", "", "with --version: the model's name instead of --id")
	fs.IntVar(&version, "version", 0, "with --name: the version number")
	return func(ctx context.Context) error {
		if (id == "") == (name == "" || version == 0) {
			return errors.New("give --id, or --name and --version")
		}
		db, t, err := openTenant(ctx, &c, slug)
		if err != nil {
			return err
		}
		defer db.Close()
		if id == "" {
			versions, err := store.ListModelVersions(ctx, t)
			if err != nil {
				return err
			}
			for _, v := range versions {
				if v.Name == name && v.Version == version {
					id = v.ID
				}
			}
			if id == "" {
				return fmt.Errorf("%s has no model %s v%d", slug, name, version)
			}
		}
		before, after, err := live.NewRegistry(nil).Promote(ctx, t, cliActor("model promote"), id)
		if err != nil {
			return err
		}
		was := "none"
		if before != nil {
			was = fmt.Sprintf("%s v%d, now archived", before.Name, before.Version)
		}
		fmt.Fprintf(os.Stderr, "%s v%d is production for %s (was %s); servers take it within 15 s\n", after.Name, after.Version, slug, was)
		return nil
	}
}

// modelDescribeCommand adds the drift baseline and the calibration curve
// to a bundle trained before training wrote them (make model-baseline).
func modelDescribeCommand(fs *flag.FlagSet, env *environ) func(context.Context) error {
	var in, out, data string
	fs.StringVar(&in, "model", "", "model bundle to read (required)")
	fs.StringVar(&data, "data", "", "the labelled PaySim-format CSV the model was trained on (required)")
	fs.StringVar(&out, "out", "", "bundle to write; default: overwrite --model")
	return func(ctx context.Context) error {
		if in == "" || data == "" {
			return errors.New("--model and --data are required")
		}
		if out == "" {
			out = in
		}
		raw, err := os.ReadFile(in)
		if err != nil {
			return err
		}
		var b scoring.Bundle
		if err := json.Unmarshal(raw, &b); err != nil {
			return fmt.Errorf("read %s: %w", in, err)
		}
		if err := training.DescribeBundle(ctx, &b, data, os.Stderr); err != nil {
			return err
		}
		enc, err := b.Encode()
		if err != nil {
			return err
		}
		if err := os.WriteFile(out, enc, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", out, err)
		}
		fmt.Fprintf(os.Stderr, "wrote %s (%d bytes) with a baseline of %d rows\n", out, len(enc), b.Baseline.Rows)
		return nil
	}
}
